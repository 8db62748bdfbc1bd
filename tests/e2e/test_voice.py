"""The voice page in headless Chromium against the local Realtime sandbox: what an admin sees and hears."""

import re
import wave

import pytest
from playwright.sync_api import expect

from harness.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INSECURE_HOST,
    Sandbox,
    open_voice_page,
    start_app,
)

# Bytes of audio sent and received on the page's newest peer connection, asked of the browser's getStats.
AUDIO_BYTES = """async () => {
  const pc = window.__voiceTest.peers.at(-1);
  if (!pc) return null;
  let sent = 0, received = 0;
  (await pc.getStats()).forEach((report) => {
    if (report.kind !== 'audio') return;
    if (report.type === 'outbound-rtp') sent += report.bytesSent;
    if (report.type === 'inbound-rtp') received += report.bytesReceived;
  });
  return { sent, received };
}"""
AUDIO_FLOWS_BOTH_WAYS = f"async () => {{ const bytes = await ({AUDIO_BYTES})(); return bytes && bytes.sent > 2000 && bytes.received > 2000; }}"
LIVE_MIC_TRACKS = "() => window.__voiceTest.streams.flatMap((s) => s.getTracks()).filter((t) => t.readyState === 'live').length"
# No peer that got an answer is still open (a prepared peer, offer only, static/js/voice/prepare.js, is not one).
# The error shows first, then the call is torn down: wait for it rather than look once.
NO_ANSWERED_PEER_OPEN = "() => window.__voiceTest.peers.every((pc) => pc.signalingState !== 'stable')"
PEER_COUNT = "() => window.__voiceTest.peers.length"


def start(page):
    page.click("#voice-start")


def expect_connected(page):
    expect(page.locator("#voice-state")).to_have_text("Connected")
    expect(page.locator("#voice-state")).to_have_class(re.compile(r"\bstate-connected\b"))
    expect(page.locator("#voice-connect-time")).to_have_text(re.compile(r"^\d+ ms"))


def expect_prepared(page, state="ready"):
    """The page's prepared call (data-prepared, static/js/voice/prepare.js) has reached `state`."""
    expect(page.locator("#voice-console")).to_have_attribute("data-prepared", state)


def expect_error(page, words, timeout=5_000):
    expect(page.locator("#voice-state")).to_have_text("Error", timeout=timeout)
    expect(page.locator("#voice-message")).to_be_visible()
    expect(page.locator("#voice-message-text")).to_contain_text(words)


def test_a_full_session_talks_both_ways_and_hang_up_releases_the_microphone(signed_in_page, sandbox):
    page = signed_in_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    start(page)
    expect_connected(page)

    page.wait_for_function(AUDIO_FLOWS_BOTH_WAYS, polling=200, timeout=10_000)
    # The sandbox hears the fake microphone's beeps as speech and answers them: both sides appear in words.
    expect(page.locator(".turn-user .turn-text:not(.pending)").first).to_contain_text("sandbox heard")
    expect(page.locator(".turn-agent .turn-text").first).not_to_be_empty()

    page.fill("#voice-max-tokens", "300")
    page.select_option("#voice-turn-detection", "server_vad")
    page.fill("#voice-instructions", "Answer in one short sentence.")
    page.click("#voice-settings-form button[type=submit]")
    expect(page.locator("#voice-settings-result")).to_contain_text("Applied (session.updated)")
    update = sandbox.state()["last_session_update"]
    assert update["type"] == "realtime" and update["max_output_tokens"] == 300
    assert update["audio"]["input"]["turn_detection"] == {"type": "server_vad"}
    assert "temperature" not in update

    page.fill("#voice-text", "What is the status of the nightly load?")
    page.click("#voice-text-form button[type=submit]")
    typed = page.locator(".turn-user", has_text="What is the status of the nightly load?")
    expect(typed).to_be_visible()
    # The agent's answer to the typed message comes after it in the conversation.
    expect(page.locator(".turn-user:has-text('nightly load') ~ .turn-agent .turn-text").first).not_to_be_empty()

    expect(page.locator("#usage-responses")).not_to_have_text("0")
    expect(page.locator("#usage-output-audio")).not_to_have_text("0")
    expect(page.locator("#usage-cost")).not_to_have_text("$0.0000")
    expect(page.locator("#voice-log li").first).to_be_visible()
    page.fill("#voice-log-filter", "session.up")
    expect(page.locator("#voice-log li:visible")).to_have_count(2)  # session.update out, session.updated in
    page.locator("#voice-log li.log-out:visible summary").click()
    expect(page.locator("#voice-log li.log-out:visible pre")).to_contain_text('"type": "realtime"')

    expect(page.locator("#voice-no-audio")).to_be_hidden()  # the agent's audio did arrive
    expect(page.locator("#voice-play-audio")).to_be_hidden()  # and played without a click
    assert page.evaluate(LIVE_MIC_TRACKS) == 1
    call_peer = page.evaluate(PEER_COUNT) - 1
    page.click("#voice-hangup")
    expect(page.locator("#voice-state")).to_have_text("Ended")
    assert page.evaluate(LIVE_MIC_TRACKS) == 0
    # The call's own peer; the page prepares the next call's after the hang-up.
    assert page.evaluate(f"() => window.__voiceTest.peers[{call_peer}].connectionState") == "closed"
    expect(page.locator("#voice-start")).to_be_enabled()
    assert not [text for text in console if "Content Security Policy" in text], console


def test_the_spoken_conversation_is_copied_into_the_admins_chat_thread(signed_in_page):
    page = signed_in_page()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/chat/voice-transcript"), timeout=20_000) as copied:
        start(page)
        expect_connected(page)
    assert copied.value.status == 200
    thread_id = copied.value.json()["data"]["threadId"]
    page.click("#voice-hangup")

    # Read the thread back through the self-hosted ChatKit endpoint, as the chat widget would.
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    listed = page.request.post(
        page.url.split("/admin/")[0] + "/chatkit",
        data={"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}},
        headers={"X-CSRFToken": csrf},
    )
    assert listed.status == 200, listed.text()
    texts = [part["text"] for item in listed.json()["data"] for part in item.get("content", []) if "text" in part]
    assert any(text.startswith("[voice] ") and "sandbox heard" in text for text in texts), texts


def test_relay_mode_connects_without_a_secret_reaching_the_browser(signed_in_page, sandbox):
    page = signed_in_page(connect="relay")
    mints_before = sandbox.state()["mints"]
    start(page)
    expect_connected(page)
    page.wait_for_function(AUDIO_FLOWS_BOTH_WAYS, polling=200, timeout=10_000)
    assert sandbox.state()["mints"] == mints_before
    page.click("#voice-mute")
    expect(page.locator("#voice-mute")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#voice-mute")).to_have_text("Unmute")
    assert page.evaluate("() => window.__voiceTest.streams.at(-1).getAudioTracks()[0].enabled") is False
    page.click("#voice-hangup")
    expect(page.locator("#voice-state")).to_have_text("Ended")


def test_an_expired_secret_is_replaced_without_the_admin_noticing(signed_in_page, sandbox):
    # The secret the page mints ahead of the click expires before the click uses it.
    sandbox.control(expire_next_secrets=1)
    mints_before = sandbox.state()["mints"]
    page = signed_in_page()
    expect_prepared(page)
    start(page)
    expect_connected(page)
    expect(page.locator("#voice-message")).to_be_hidden()
    assert sandbox.state()["mints"] == mints_before + 2


def test_a_failing_secret_endpoint_is_explained_in_words(signed_in_page, sandbox):
    # The server retries a 5xx twice: three failures for the mint ahead of the click, three for the click's own.
    sandbox.control(fail_next_mints={"count": 6, "status": 502})
    page = signed_in_page()
    expect_prepared(page, "failed")
    start(page)
    expect_error(page, "Could not get a session secret (HTTP 502)")
    expect(page.locator("#voice-reconnect")).to_be_visible()
    assert page.evaluate(LIVE_MIC_TRACKS) == 0


def test_a_denied_microphone_asks_for_the_permission(signed_in_page, sandbox):
    page = signed_in_page(microphone=False)
    start(page)
    expect_error(page, "Grant microphone permissions")
    # The prepared offer goes out with the click, beside the microphone: its peer is closed again.
    page.wait_for_function(NO_ANSWERED_PEER_OPEN, timeout=5_000)
    assert page.evaluate(LIVE_MIC_TRACKS) == 0


def test_an_unreachable_peer_ends_in_the_ice_failure_message(signed_in_page, sandbox):
    page = signed_in_page()
    sandbox.control(unreachable_ice=True)
    start(page)
    expect(page.locator("#voice-state")).to_have_text("Connecting…")
    # Chromium takes its time to give up on ICE; the page gives up after VOICE_CONNECT_TIMEOUT_SECONDS.
    expect_error(page, "check the STUN/TURN servers", timeout=15_000)
    assert page.evaluate(LIVE_MIC_TRACKS) == 0


def test_telemetry_reports_the_attempt_connected_and_then_ended(signed_in_page, sandbox):
    page = signed_in_page()
    with page.expect_response(lambda response: response.url.endswith("/api/v1/realtime/telemetry")) as connected:
        start(page)
    assert connected.value.status == 204
    report = connected.value.request.post_data_json
    assert report["event"] == "connected" and report["mode"] == "ephemeral" and report["connectMs"] >= 0
    with page.expect_response(lambda response: response.url.endswith("/api/v1/realtime/telemetry")) as ended:
        page.click("#voice-hangup")
    assert ended.value.status == 204
    final = ended.value.request.post_data_json
    assert final["event"] == "ended" and final["attemptId"] == report["attemptId"]
    assert final["reason"] == "hung up by the admin" and final["durationMs"] >= 0
    assert set(final["usage"]) == {"inputTextTokens", "inputAudioTokens", "cachedTokens", "outputTextTokens",
                                   "outputAudioTokens"}


def test_a_dropped_call_reconnects_by_itself(signed_in_page, sandbox):
    page = signed_in_page()
    calls_before = {peer["call_id"] for peer in sandbox.state()["peers"]}
    start(page)
    expect_connected(page)
    [call] = [peer["call_id"] for peer in sandbox.state()["peers"] if peer["call_id"] not in calls_before]
    sandbox.hang_up(call)
    expect(page.locator("#voice-state")).to_have_text("Reconnecting…")
    expect(page.locator("#voice-message-text")).to_contain_text("The connection was lost")
    expect(page.locator("#voice-state")).to_have_text("Connected", timeout=10_000)
    expect(page.locator("#voice-message-text")).to_contain_text("Reconnected")
    expect(page.locator("#voice-connect-time")).to_contain_text("(reconnect)")


def test_push_to_talk_sends_the_turn_when_the_space_bar_is_released(signed_in_page, sandbox):
    page = signed_in_page()
    start(page)
    expect_connected(page)
    page.select_option("#voice-turn-detection", "off")
    page.click("#voice-settings-form button[type=submit]")
    expect(page.locator("#voice-settings-result")).to_contain_text("Applied")
    expect(page.locator("#voice-ptt")).to_be_visible()
    page.locator("h1").click()  # the space bar talks unless a form field has the focus
    answers = page.locator(".turn-agent").count()

    page.keyboard.down("Space")
    # Hold while the fake microphone speaks one burst, as a person holds the key for a sentence.
    page.wait_for_function("() => document.getElementById('voice-level').value > 0.3", polling=50, timeout=10_000)
    page.wait_for_function("() => document.getElementById('voice-level').value < 0.05", polling=50, timeout=10_000)
    page.keyboard.up("Space")

    outgoing = page.locator("#voice-log li.log-out")
    expect(outgoing.locator("code", has_text="input_audio_buffer.commit")).to_have_count(1)
    expect(page.locator(".turn-agent")).to_have_count(answers + 1)
    expect(page.locator(".turn-user .turn-text").last).to_contain_text("sandbox heard")


def test_interrupt_cancels_the_answer_and_clears_its_audio(signed_in_page, sandbox):
    page = signed_in_page()
    start(page)
    expect_connected(page)
    page.fill("#voice-text", "Tell me a long story.")
    page.click("#voice-text-form button[type=submit]")
    expect(page.locator("#voice-log li.log-in code", has_text="response.created").first).to_be_attached()
    page.click("#voice-interrupt")
    expect(page.locator("#voice-log li.log-out code", has_text="output_audio_buffer.clear")).to_have_count(1)
    expect(page.locator("#voice-log li.log-in code", has_text="output_audio_buffer.cleared").first).to_be_attached()
    expect(page.locator("#voice-state")).to_have_text("Connected")


def test_the_sixty_minute_limit_is_explained(browser, tmp_path):
    short_lived = Sandbox("--max-session-seconds", "1.5")
    app = start_app(tmp_path, short_lived.url, VOICE_CONNECT_TIMEOUT_SECONDS="4")
    try:
        page = open_voice_page(browser, app.url)
        start(page)
        expect_connected(page)
        expect(page.locator("#voice-state")).to_have_text("Ended", timeout=10_000)
        expect(page.locator("#voice-message-text")).to_contain_text("60-minute limit")
        assert page.evaluate(LIVE_MIC_TRACKS) == 0
        page.context.close()
    finally:
        app.stop()
        short_lived.stop()


def test_plain_http_on_a_real_host_name_asks_for_https(browser, live_app, sandbox):
    # Only https:// pages, localhost and 127.0.0.0/8 get the microphone; insecure.test maps to 127.0.0.1.
    page = open_voice_page(browser, live_app().replace("127.0.0.1", INSECURE_HOST), microphone=False)
    mints_before = sandbox.state()["mints"]
    try:
        start(page)
        expect_error(page, "HTTPS is required for microphone access")
        assert sandbox.state()["mints"] == mints_before
    finally:
        page.context.close()


def test_a_microphone_that_sends_only_silence_is_pointed_out(browser, live_app, tmp_path):
    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as writer:  # a muted or wrong input: nothing but zeros
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(bytes(2 * 16_000 * 2))
    quiet = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={silence}"],
    )
    try:
        page = open_voice_page(quiet, live_app())
        start(page)
        expect_connected(page)
        expect(page.locator("#voice-silence")).to_be_hidden()
        expect(page.locator("#voice-silence")).to_be_visible(timeout=12_000)  # after several seconds
        expect(page.locator("#voice-silence")).to_contain_text("only silence")
        page.click("#voice-mute")  # muted on purpose: nothing to warn about
        expect(page.locator("#voice-silence")).to_be_hidden()
    finally:
        quiet.close()


def failing_microphone(name, message):
    """An init script making getUserMedia reject as Chromium does when the capture device is missing or busy."""
    return f"""
navigator.mediaDevices.getUserMedia = async () => {{
  throw new DOMException({message!r}, {name!r});
}};
"""


def expect_microphone_error(page, words):
    expect_error(page, words)
    # A local problem: the admin fixes the device and presses Start; there is no call to reconnect.
    expect(page.locator("#voice-reconnect")).to_be_hidden()
    expect(page.locator("#voice-start")).to_be_enabled()
    expect(page.locator("#voice-hangup")).to_be_disabled()


def test_a_missing_microphone_is_explained(browser, live_app, sandbox):
    page = open_voice_page(
        browser, live_app(), init_scripts=[failing_microphone("NotFoundError", "Requested device not found")]
    )
    try:
        start(page)
        expect_microphone_error(page, "No microphone was found. Connect one")
        # The prepared offer goes out while the microphone opens; the failed microphone closes that peer again.
        page.wait_for_function(NO_ANSWERED_PEER_OPEN, timeout=5_000)
    finally:
        page.context.close()


def test_a_busy_microphone_is_explained(browser, live_app, sandbox):
    page = open_voice_page(
        browser, live_app(), init_scripts=[failing_microphone("NotReadableError", "Could not start audio source")]
    )
    try:
        start(page)
        expect_microphone_error(page, "The microphone could not be started: another application may be holding it")
        page.wait_for_function(NO_ANSWERED_PEER_OPEN, timeout=5_000)
    finally:
        page.context.close()


def test_reconnecting_gives_up_after_the_last_attempt_and_offers_a_manual_reconnect(signed_in_page, sandbox):
    page = signed_in_page()
    calls_before = {peer["call_id"] for peer in sandbox.state()["peers"]}
    start(page)
    expect_connected(page)
    [call] = [peer["call_id"] for peer in sandbox.state()["peers"] if peer["call_id"] not in calls_before]
    # RECONNECT_DELAYS_MS in static/js/voice/call.js allows three attempts (after 1, 2 and 4 s); refuse each one's offer.
    sandbox.control(reject_next_calls={"count": 3, "status": 500})
    sandbox.hang_up(call)
    expect(page.locator("#voice-state")).to_have_text("Reconnecting…")
    expect(page.locator("#voice-message-text")).to_contain_text("(attempt 3 of 3)", timeout=10_000)
    expect(page.locator("#voice-message-text")).to_contain_text("The SDP exchange failed (HTTP 500)")

    expect_error(page, "The connection was lost and 3 reconnect attempts failed.", timeout=10_000)
    expect(page.locator("#voice-message-text")).to_contain_text("Last error: The SDP exchange failed (HTTP 500)")
    expect(page.locator("#voice-reconnect")).to_be_visible()
    expect(page.locator("#voice-start")).to_be_enabled()
    expect(page.locator("#voice-hangup")).to_be_disabled()
    assert page.evaluate(LIVE_MIC_TRACKS) == 0
    state = sandbox.state()
    assert state["calls_rejected"] == 3 and state["knobs"]["reject_next_calls"]["count"] == 0

    page.click("#voice-reconnect")  # the admin's own retry starts a fresh session
    expect_connected(page)
    expect(page.locator("#voice-message")).to_be_hidden()


def send_text(page, text):
    page.fill("#voice-text", text)
    page.click("#voice-text-form button[type=submit]")


def test_a_failed_or_cut_short_answer_is_explained(signed_in_page, sandbox):
    page = signed_in_page()
    start(page)
    expect_connected(page)
    # Muted, the fake microphone cannot speak over (and so cancel, turn_detected) the answers the knob shapes.
    page.click("#voice-mute")
    sandbox.control(next_response={"status": "failed"})  # OpenAI's insufficient_quota: no output, only response.done
    send_text(page, "What is the status of the nightly load?")
    expect(page.locator("#voice-message")).to_be_visible()
    expect(page.locator("#voice-message-text")).to_contain_text("The agent’s answer failed:")
    expect(page.locator("#voice-message-text")).to_contain_text("run out of credit")
    expect(page.locator("#voice-message-text")).to_contain_text("(insufficient_quota)")

    sandbox.control(next_response={"status": "incomplete", "reason": "content_filter"})
    send_text(page, "And yesterday's?")
    expect(page.locator("#voice-message-text")).to_have_text("The agent’s answer was cut short: the content filter stopped it.")
    expect(page.locator("#voice-state")).to_have_text("Connected")  # the call goes on


# Presses Interrupt the moment the next answer starts (its response.created is logged), as an admin who has heard
# enough would, but without racing the sandbox's short answers.
INTERRUPT_THE_NEXT_ANSWER = """() => {
  const log = document.getElementById('voice-log');
  const observer = new MutationObserver((changes) => {
    const added = changes.flatMap((change) => [...change.addedNodes]);
    const started = added.some((item) => item.classList?.contains('log-in')
      && item.querySelector('code')?.textContent === 'response.created');
    if (!started) return;
    observer.disconnect();
    document.getElementById('voice-interrupt').click();
  });
  observer.observe(log, { childList: true });
}"""


CANCELLED_ANSWER_LOGGED = """() => {
  const selector = '#voice-log li.log-in[data-type="response.done"]:has(~ li[data-type="response.cancel"]) details';
  const entries = [...document.querySelectorAll(selector)];
  entries.forEach((entry) => { entry.open = true; });
  return entries.some((entry) => entry.querySelector('pre').textContent.includes('"reason": "client_cancelled"'));
}"""


def test_the_admins_own_interrupt_is_not_reported_as_a_failed_answer(signed_in_page, sandbox):
    page = signed_in_page()
    start(page)
    expect_connected(page)
    page.click("#voice-mute")  # only the typed message gets an answer: the fake microphone cannot cancel it first
    page.evaluate(INTERRUPT_THE_NEXT_ANSWER)
    send_text(page, "Tell me a long story.")
    expect(page.locator('#voice-log li.log-out[data-type="response.cancel"]')).to_have_count(1)
    # The log is newest first: a response.done listed before the response.cancel came after it. Its JSON shows once
    # opened; every such entry is opened, as more events may arrive (and move "the first") while the test looks.
    page.wait_for_function(CANCELLED_ANSWER_LOGGED)
    expect(page.locator("#voice-message")).to_be_hidden()
    expect(page.locator("#voice-state")).to_have_text("Connected")


# A browser that blocks autoplay: the autoplay attribute does nothing and the first play() is refused.
BLOCKED_AUTOPLAY = """
(() => {
  const play = HTMLMediaElement.prototype.play;
  let refused = false;
  HTMLMediaElement.prototype.play = function () {
    if (refused) return play.call(this);
    refused = true;
    return Promise.reject(new DOMException('play() failed because the user did not interact first', 'NotAllowedError'));
  };
  document.addEventListener('DOMContentLoaded', () => {
    for (const media of document.querySelectorAll('audio, video')) media.autoplay = false;
  });
})();
"""


def test_blocked_autoplay_offers_a_button_that_turns_on_the_agents_audio(browser, live_app):
    page = open_voice_page(browser, live_app(), init_scripts=[BLOCKED_AUTOPLAY])
    try:
        expect(page.locator("#voice-play-audio")).to_be_hidden()
        start(page)
        expect_connected(page)
        button = page.get_by_role("button", name="Click to turn on the agent’s audio")
        expect(button).to_be_visible()
        assert page.evaluate("() => document.getElementById('voice-remote-audio').paused") is True
        button.click()
        expect(button).to_be_hidden()
        assert page.evaluate("() => document.getElementById('voice-remote-audio').paused") is False
    finally:
        page.context.close()


# No sound from the agent: the browser's statistics show no audio coming in (a muted or lost inbound stream).
NO_AGENT_AUDIO = """
(() => {
  const getStats = RTCPeerConnection.prototype.getStats;
  RTCPeerConnection.prototype.getStats = async function (...args) {
    const report = await getStats.apply(this, args);
    const silent = new Map();
    report.forEach((stats, id) => {
      const inbound = stats.type === 'inbound-rtp' && stats.kind === 'audio';
      silent.set(id, inbound ? { ...stats, bytesReceived: 0, totalAudioEnergy: 0 } : stats);
    });
    return silent;
  };
})();
"""


def test_an_answer_without_audio_is_pointed_out(browser, live_app):
    page = open_voice_page(browser, live_app(), init_scripts=[NO_AGENT_AUDIO])
    try:
        start(page)
        expect_connected(page)
        expect(page.locator("#voice-no-audio")).to_be_hidden()
        page.click("#voice-mute")  # the fake microphone could otherwise speak over (cancel) the answer
        send_text(page, "Are you there?")
        expect(page.locator("#voice-log li.log-in code", has_text="response.created").first).to_be_attached()
        expect(page.locator("#voice-no-audio")).to_be_visible(timeout=10_000)  # a few seconds after it started
        expect(page.locator("#voice-no-audio")).to_contain_text("No audio has arrived from the agent")
        page.click("#voice-hangup")
        expect(page.locator("#voice-no-audio")).to_be_hidden()
    finally:
        page.context.close()


def test_the_settings_form_sends_only_what_the_admin_changed(signed_in_page, sandbox):
    page = signed_in_page()
    start(page)
    expect_connected(page)
    page.select_option("#voice-turn-detection", "server_vad")
    page.click("#voice-settings-form button[type=submit]")
    expect(page.locator("#voice-settings-result")).to_have_text(
        "Applied (session.updated): turn detection server_vad."
    )
    # OPENAI_REALTIME_INSTRUCTIONS is unset: an empty "instructions" would wipe OpenAI's default instructions.
    update = sandbox.state()["last_session_update"]
    assert update == {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad"}}}}, update

    page.fill("#voice-max-tokens", "200")
    page.click("#voice-settings-form button[type=submit]")
    expect(page.locator("#voice-settings-result")).to_have_text("Applied (session.updated): max output tokens 200.")
    assert sandbox.state()["last_session_update"] == {"type": "realtime", "max_output_tokens": 200}


def test_the_settings_form_offers_semantic_vads_eagerness_and_noise_reduction(signed_in_page, sandbox):
    page = signed_in_page()
    # The configured defaults: semantic VAD at auto eagerness, near-field noise reduction.
    expect(page.locator("#voice-turn-detection")).to_have_value("semantic_vad")
    expect(page.locator("#voice-eagerness")).to_have_value("auto")
    expect(page.locator("#voice-noise-reduction")).to_have_value("near_field")
    start(page)
    expect_connected(page)
    assert sandbox.state()["last_session"]["audio"]["input"]["noise_reduction"] == {"type": "near_field"}

    page.select_option("#voice-eagerness", "low")
    page.select_option("#voice-noise-reduction", "far_field")
    page.click("#voice-settings-form button[type=submit]")
    expect(page.locator("#voice-settings-result")).to_have_text(
        "Applied (session.updated): turn detection semantic_vad (eagerness low), noise reduction far_field.")
    assert sandbox.state()["last_session_update"] == {"type": "realtime", "audio": {"input": {
        "turn_detection": {"type": "semantic_vad", "eagerness": "low"}, "noise_reduction": {"type": "far_field"}}}}

    page.select_option("#voice-turn-detection", "server_vad")
    expect(page.locator("#voice-eagerness")).to_be_disabled()  # eagerness is semantic VAD's alone
    page.select_option("#voice-noise-reduction", "off")
    page.click("#voice-settings-form button[type=submit]")
    expect(page.locator("#voice-settings-result")).to_have_text(
        "Applied (session.updated): turn detection server_vad, noise reduction off.")
    assert sandbox.state()["last_session_update"] == {"type": "realtime", "audio": {"input": {
        "turn_detection": {"type": "server_vad"}, "noise_reduction": None}}}


# --- Instant start: the call prepared before the click (static/js/voice/prepare.js) -----------------------


@pytest.mark.parametrize("connect", ["ephemeral", "relay"])
def test_a_prepared_call_connects_on_the_click_and_audio_flows_both_ways(signed_in_page, sandbox, connect):
    page = signed_in_page(connect=connect)
    telemetry = []
    page.on("request", lambda request: telemetry.append(request) if request.url.endswith("/telemetry") else None)
    expect_prepared(page)
    mints, peers = sandbox.state()["mints"], page.evaluate(PEER_COUNT)
    assert telemetry == []  # preparing is no attempt: the activity record hears of none until the click
    assert page.evaluate(LIVE_MIC_TRACKS) == 0  # nor does it open the microphone
    start(page)
    expect_connected(page)
    # The click used the prepared peer and secret: no new peer, no mint.
    assert page.evaluate(PEER_COUNT) == peers
    assert sandbox.state()["mints"] == mints
    page.wait_for_function(AUDIO_FLOWS_BOTH_WAYS, polling=200, timeout=10_000)
    assert page.evaluate(LIVE_MIC_TRACKS) == 1
    page.click("#voice-hangup")
    expect(page.locator("#voice-state")).to_have_text("Ended")
    assert page.evaluate(LIVE_MIC_TRACKS) == 0
    assert page.evaluate(f"() => window.__voiceTest.peers[{peers - 1}].connectionState") == "closed"
    # The next call is prepared after the hang-up, and is used by the next click.
    expect_prepared(page)
    assert page.evaluate(PEER_COUNT) == peers + 1
    start(page)
    expect_connected(page)
    assert page.evaluate(PEER_COUNT) == peers + 1
    page.click("#voice-hangup")


def test_a_stale_prepared_call_is_remade_without_the_admin_noticing(signed_in_page, sandbox):
    page = signed_in_page()
    expect_prepared(page)
    peers = page.evaluate(PEER_COUNT)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")  # a network change: the offer's candidates aged
    page.wait_for_function(f"() => window.__voiceTest.peers.length === {peers + 1}")
    expect_prepared(page)
    assert page.evaluate(f"() => window.__voiceTest.peers[{peers - 1}].connectionState") == "closed"
    mints = sandbox.state()["mints"]
    start(page)
    expect_connected(page)
    expect(page.locator("#voice-message")).to_be_hidden()
    assert page.evaluate(PEER_COUNT) == peers + 1 and sandbox.state()["mints"] == mints
    page.click("#voice-hangup")


def test_the_click_connects_the_usual_way_when_preparing_failed(signed_in_page, sandbox):
    sandbox.control(fail_next_mints={"count": 3, "status": 502})  # the mint ahead of the click (and its 2 retries)
    page = signed_in_page()
    expect_prepared(page, "failed")
    assert page.evaluate(PEER_COUNT) == 0
    start(page)
    expect_connected(page)
    expect(page.locator("#voice-message")).to_be_hidden()
    page.wait_for_function(AUDIO_FLOWS_BOTH_WAYS, polling=200, timeout=10_000)
    page.click("#voice-hangup")
    expect(page.locator("#voice-state")).to_have_text("Ended")
    assert page.evaluate(LIVE_MIC_TRACKS) == 0


def test_leaving_the_page_releases_the_prepared_call(signed_in_page):
    page = signed_in_page()
    expect_prepared(page)
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    expect_prepared(page, "released")
    assert page.evaluate("() => window.__voiceTest.peers.every((pc) => pc.connectionState === 'closed')")


SLOW_MICROPHONE = """
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await getUserMedia(constraints);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return stream;
};
"""


def test_connected_waits_for_the_microphone_so_the_first_words_are_heard(browser, live_app, sandbox):
    page = open_voice_page(browser, live_app(), init_scripts=[SLOW_MICROPHONE])
    try:
        expect_prepared(page)
        start(page)
        # The prepared call is up long before this microphone: the page still says it waits for the microphone.
        expect(page.locator("#voice-state")).to_have_text("Waiting for the microphone…")
        expect_connected(page)
        assert float(page.locator("#voice-connect-time").get_attribute("data-ms")) >= 1500
        # At Connected the microphone's track is live and on the call's sender.
        assert page.evaluate(LIVE_MIC_TRACKS) == 1
        assert page.evaluate("() => window.__voiceTest.peers.at(-1).getSenders()[0].track?.readyState") == "live"
        page.click("#voice-hangup")
        expect(page.locator("#voice-state")).to_have_text("Ended")
        assert page.evaluate(LIVE_MIC_TRACKS) == 0
    finally:
        page.context.close()
