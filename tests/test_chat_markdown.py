"""The native chat view's markdown: rendered on the server and cleaned, so an answer that tries to inject markup,
run script or load something from elsewhere shows up as text and plain links."""

import re

import pytest

from chat.markdown import render_markdown


def test_markdown_renders_the_usual_formatting():
    html = render_markdown("Two **failed**, one *retried*:\n\n- orders_daily\n- events_rollup\n\n`rerun` them?")
    assert "<strong>failed</strong>" in html and "<em>retried</em>" in html
    assert "<li>orders_daily</li>" in html and "<code>rerun</code>" in html


def test_code_blocks_and_tables_survive():
    html = render_markdown("```json\n{\"a\": 1}\n```\n\n| pipeline | status |\n|---|--:|\n| orders | failed |")
    assert "<pre><code>{&quot;a&quot;: 1}" in html or '<pre><code>{"a": 1}' in html
    assert "<th>pipeline</th>" in html and "<td>failed</td>" in html
    assert "style=" not in html  # alignment would need inline styles, which the CSP forbids


def test_headings_start_below_the_pages_own():
    html = render_markdown("# Summary\n\n## Details")
    assert "<h3>Summary</h3>" in html and "<h4>Details</h4>" in html and "<h1" not in html


@pytest.mark.parametrize("answer", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=https://evil.example></iframe>",
    '<div onclick="alert(1)">x</div>',
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
])
def test_raw_html_from_the_model_is_shown_as_text(answer):
    html = render_markdown(answer)
    assert "<" + answer[1:4] not in html  # no tag of it survives
    assert not re.search(r"<[^>]*\bon[a-z]+=", html)  # nor any event handler
    assert "&lt;" in html  # it is there, as text


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "&#106;avascript:alert(1)", "data:text/html,<b>hi</b>",
    "vbscript:msgbox(1)", "java\tscript:alert(1)",
])
def test_links_that_could_run_code_lose_their_target(link):
    html = render_markdown(f"[click me]({link})")
    assert "href" not in html and "click me" in html


def test_web_links_stay_and_tell_the_browser_not_to_share_the_page():
    html = render_markdown("See [the runbook](https://runbooks.example/orders?x=1&y=2) or <https://status.example>.")
    assert '<a href="https://runbooks.example/orders?x=1&amp;y=2" rel="noopener noreferrer">the runbook</a>' in html
    assert '<a href="https://status.example" rel="noopener noreferrer">' in html


def test_relative_links_point_nowhere():
    # A link into the console itself could be used to make an admin click their own pages.
    html = render_markdown("[sign out](/logout)")
    assert "href" not in html and "sign out" in html


@pytest.mark.parametrize("image", [
    "![status](https://tracker.example/pixel.png?who=alice)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    '![x](https://tracker.example/p.png "title")',
])
def test_images_are_never_loaded(image):
    html = render_markdown(image)
    assert "<img" not in html and "src=" not in html
    assert "Image:" in html  # the admin can still see that there was one, and follow it if they choose


def test_a_remote_image_becomes_a_plain_link_named_by_its_alt_text():
    html = render_markdown("![last night's chart](https://charts.example/n.png)")
    assert html.strip() == ('<p><a href="https://charts.example/n.png" rel="noopener noreferrer">'
                            "Image: last night's chart</a></p>")


def test_an_image_alt_text_cannot_smuggle_markup():
    html = render_markdown('![<img src=x onerror=alert(1)>](https://a.example/x.png)')
    assert "<img" not in html and not re.search(r"<[^>]*onerror", html)


def test_empty_or_missing_text_renders_nothing():
    assert render_markdown("") == "" and render_markdown(None) == ""
