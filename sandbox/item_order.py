"""The order of a call's conversation items, so that each event about an item can name the one before it
(previous_item_id), as OpenAI's do."""


class ItemOrder:
    def __init__(self):
        self._previous = {}  # item id -> the id of the item before it (None for the first), in the order added

    @property
    def last_id(self):
        """The id of the newest item, or None: what a new item will follow."""
        return next(reversed(self._previous), None)

    def add(self, item_id):
        """Appends an item; returns the id of the item before it (None for the first)."""
        previous = self.last_id
        self._previous[item_id] = previous
        return previous

    def previous_id(self, item_id):
        """The id of the item before this one; an item not yet added is appended first (the next in order)."""
        if item_id not in self._previous:
            return self.add(item_id)
        return self._previous[item_id]
