"""The chat's approval cards: the call an admin is asked to approve, shown so nothing in it can hide, and what became of it."""

import json

# What a card shows of the arguments; longer ones are cut, and the card says so in words above Approve.
CARD_ARGUMENT_CHARS = 2000
# Longer arguments are not offered for approval at all: nobody reviews that much in a card (chat.server refuses the
# call and tells the model).
MAX_APPROVAL_ARGUMENT_CHARS = 8000
APPROVE, DENY = "tool.approve", "tool.deny"


def shown_arguments(arguments, placeholders=()):
    """The arguments as indented JSON with the URL's {placeholders} first: they decide which endpoint the call goes
    to, and the model chooses the key order, so a long argument put first must not push them out of view."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(parsed, dict):
        first = {key: parsed[key] for key in placeholders if key in parsed}
        parsed = {**first, **{key: value for key, value in parsed.items() if key not in first}}
    return json.dumps(parsed, indent=1, ensure_ascii=False)


def approval_card(tool, arguments, call_id, placeholders=()):
    """The card asking the admin to approve one call: the tool, its arguments (placeholders first; a note when they
    are cut), Approve and Deny. Built as data (DynamicWidgetRoot): chatkit deprecates its named widget classes."""
    from chatkit.widgets import DynamicWidgetRoot

    payload = {"call_id": call_id}

    def button(label, action, color):
        return {"type": "Button", "label": label, "color": color, "style": "primary" if action == APPROVE else "secondary",
                "onClickAction": {"type": action, "payload": payload, "loadingBehavior": "container"}}

    shown = shown_arguments(arguments, placeholders)
    children = [
        {"type": "Text", "value": f"{tool} changes the platform: approve this call?", "weight": "semibold"},
        {"type": "Markdown", "value": f"```json\n{shown[:CARD_ARGUMENT_CHARS]}\n```"},
        {"type": "Row", "gap": 2, "children": [button("Approve", APPROVE, "success"), button("Deny", DENY, "danger")]},
    ]
    if len(shown) > CARD_ARGUMENT_CHARS:
        children.insert(2, {"type": "Text", "color": "danger", "weight": "semibold", "value": (
            f"The arguments are cut: showing the first {CARD_ARGUMENT_CHARS:,} of {len(shown):,} characters. "
            "Approve only if what is shown is enough.")})
    return DynamicWidgetRoot.model_validate({"type": "Card", "key": f"approval-{call_id}", "children": children})


def refused_card(tool, length):
    """In place of an approval card, for a call whose arguments are too long to review: nothing to click."""
    return decided_card(tool, f"{tool} was not offered for approval: its arguments are {length:,} characters, more "
                        f"than the {MAX_APPROVAL_ARGUMENT_CHARS:,} a card shows. Nothing was run; the agent was told.",
                        "danger")


def decided_card(tool, text, color):
    from chatkit.widgets import DynamicWidgetRoot

    return DynamicWidgetRoot.model_validate({"type": "Card", "key": f"approval-{tool}", "children": [
        {"type": "Text", "value": text, "color": color, "weight": "semibold"}]})
