"""The agent file (AGENT_FILE): loaded into settings.agent, every mistake stopping start-up with its place named."""

import pytest

from agent.definition import DefinitionError, load_agent_file, load_definition
from core.config import ConfigError, load_settings
from tests.support import TODAY

ENV = {"SECRET_KEY": "k", "PLATFORM_URL": "http://platform.test", "PLATFORM_TOKEN": "tok-secret-1"}
GOOD = '''
instructions = "You help the admins."
voice_instructions = "Speak briefly."

[[tools]]
name = "list_failed_pipelines"
description = "Failed pipelines."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { since = { type = "string" } } }

[[tools]]
name = "rerun_pipeline"
description = "Reruns one."
method = "post"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }

[[mcp_servers]]
label = "warehouse"
url = "http://127.0.0.1:9/mcp"
allowed_tools = ["row_count"]
'''


def settings_of(env):
    """Settings built as app.py builds them: the agent layer reads AGENT_FILE, load_settings takes the definition."""
    return load_settings(env, today=TODAY, agent=load_agent_file(env))


@pytest.fixture
def write(tmp_path):
    def write(text, name="agent.toml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def error_for(path, env=ENV):
    with pytest.raises(DefinitionError) as raised:
        load_definition(path, env)
    return str(raised.value)


def test_a_good_file_loads_with_variables_replaced_and_defaults_filled(write):
    definition = load_definition(write(GOOD), ENV)
    listing, rerun = definition.tools
    assert listing.url == "http://platform.test/pipelines?status=failed"
    assert listing.headers == {"Authorization": "Bearer tok-secret-1"}
    assert (listing.method, listing.confirm, listing.timeout_seconds) == ("GET", False, 10.0)
    assert (rerun.method, rerun.confirm, rerun.placeholders) == ("POST", True, ("name",))
    assert definition.mcp_servers[0].allowed_tools == ("row_count",)


def test_the_repr_of_a_definition_holds_no_credential(write):
    assert "tok-secret-1" not in repr(load_definition(write(GOOD), ENV))


def test_a_toml_syntax_error_names_the_file_line_and_column(write):
    path = write('instructions = "x"\n[[tools]]\nname = \n')
    assert error_for(path).startswith(f"{path}: line 3, column 8: ")


def test_a_bad_method_names_the_table_and_key(write):
    path = write(GOOD.replace('method = "post"', 'method = "FETCH"'))
    assert error_for(path) == f"{path}: tools[1].method: 'FETCH' is not one of GET, POST, PUT, PATCH, DELETE"


def test_an_unset_variable_is_named(write):
    path = write(GOOD)
    assert error_for(path, {"PLATFORM_URL": "http://platform.test"}) == (
        f"{path}: tools[0].headers.Authorization: ${{PLATFORM_TOKEN}} is not set in the environment (set it, or .env for make run)")


def test_a_tool_name_outside_openais_rule_is_refused(write):
    assert "tools[0].name: 'list failed' must be 1 to 64" in error_for(write(GOOD.replace('"list_failed_pipelines"', '"list failed"')))


def test_a_repeated_tool_name_is_refused(write):
    path = write(GOOD.replace('name = "rerun_pipeline"', 'name = "list_failed_pipelines"'))
    assert "tools[1].name: 'list_failed_pipelines' is already used by an earlier entry" in error_for(path)


def test_parameters_must_be_an_object_schema(write):
    path = write(GOOD.replace('parameters = { type = "object", properties = { since', 'parameters = { type = "array", properties = { since'))
    assert 'tools[0].parameters: must be a JSON schema with type = "object"' in error_for(path)


def test_parameters_must_be_a_valid_json_schema(write):
    path = write(GOOD.replace('since = { type = "string" }', 'since = { type = "text" }'))
    assert "tools[0].parameters.properties.since.type: not a valid JSON schema" in error_for(path)


def test_a_url_placeholder_must_be_a_parameter(write):
    path = write(GOOD.replace("/pipelines/{name}/rerun", "/pipelines/{pipeline}/rerun"))
    assert "tools[1].url: {pipeline} is not one of the properties in tools[1].parameters" in error_for(path)


def test_an_unknown_key_is_named_with_the_allowed_ones(write):
    assert "tools[0].timeout: unknown key (allowed: confirm, description" in error_for(write(GOOD.replace("[[tools]]\n", "[[tools]]\ntimeout = 3\n", 1)))


def test_missing_instructions_are_named(write):
    path = write(GOOD.replace('instructions = "You help the admins."', ""))
    assert error_for(path) == f"{path}: instructions: is missing"


def test_a_missing_file_is_named(tmp_path):
    assert error_for(str(tmp_path / "nope.toml")) == f"{tmp_path / 'nope.toml'}: cannot be read (No such file or directory)"


def test_settings_agent_is_none_without_agent_file():
    assert load_agent_file(ENV) is None
    assert load_settings(ENV, today=TODAY, agent=load_agent_file(ENV)).agent is None


def test_settings_refuse_an_agent_file_they_were_not_handed(write):
    with pytest.raises(TypeError, match="agent=load_agent_file"):
        load_settings({**ENV, "AGENT_FILE": write(GOOD)}, today=TODAY)


def test_a_bad_agent_file_stops_start_up_naming_agent_file(write):
    path = write(GOOD.replace('method = "post"', 'method = "FETCH"'))
    with pytest.raises(ConfigError, match=r"^AGENT_FILE=.* is not allowed: .*tools\[1\]\.method: 'FETCH'") as raised:
        load_agent_file({**ENV, "AGENT_FILE": path})
    assert raised.value.variable == "AGENT_FILE"


def test_the_agent_files_instructions_apply_to_voice_and_chat_when_the_variables_are_unset(write):
    env = {**ENV, "AGENT_FILE": write(GOOD)}
    settings = load_settings(env, today=TODAY, agent=load_agent_file(env))
    assert settings.realtime.instructions == "You help the admins.\n\nSpeak briefly."
    assert settings.chat.instructions == "You help the admins."


def test_the_instruction_variables_override_the_agent_file_when_set(write):
    env = {**ENV, "AGENT_FILE": write(GOOD), "OPENAI_REALTIME_INSTRUCTIONS": "Voice words.",
           "CHATKIT_INSTRUCTIONS": "Chat words."}
    settings = load_settings(env, today=TODAY, agent=load_agent_file(env))
    assert (settings.realtime.instructions, settings.chat.instructions) == ("Voice words.", "Chat words.")


def test_the_example_agent_file_loads():
    env = {"PLATFORM_URL": "http://127.0.0.1:1", "PLATFORM_TOKEN": "t", "WAREHOUSE_MCP_URL": "http://127.0.0.1:2/mcp",
           "WAREHOUSE_MCP_TOKEN": "w"}
    definition = load_definition("examples/agent.toml", env)
    assert [(tool.name, tool.confirm) for tool in definition.tools] == [
        ("list_failed_pipelines", False), ("get_run", False), ("rerun_pipeline", True)]


def test_an_app_built_with_an_agent_file_gives_its_voice_sessions_the_files_instructions(make_app, write):
    from realtime.session_config import realtime_session_config

    app = make_app(AGENT_FILE=write(GOOD), PLATFORM_URL="http://platform.test", PLATFORM_TOKEN="tok-secret-1")
    settings = app.config["SETTINGS"]
    assert realtime_session_config(settings)["instructions"] == "You help the admins.\n\nSpeak briefly."


HINTS = 'language = "EN"\nvocabulary = ["orders_daily", " events_rollup "]\n'


def test_language_and_vocabulary_are_read_for_transcription(write):
    definition = load_definition(write(HINTS + GOOD), ENV)
    assert (definition.language, definition.vocabulary) == ("en", ("orders_daily", "events_rollup"))
    assert (load_definition(write(GOOD), ENV).language, load_definition(write(GOOD), ENV).vocabulary) == (None, ())


@pytest.mark.parametrize("hints, words", [
    ('language = "english"\n', "language: 'english' is not a two-letter ISO-639-1 code"),
    ('language = 7\n', "language: 7 is not a two-letter ISO-639-1 code"),
    ('vocabulary = "orders_daily"\n', 'vocabulary: must be a list of names, e.g. ["orders_daily", "events_rollup"]'),
    ('vocabulary = ["orders_daily", ""]\n', "vocabulary[1]: '' must be a non-empty string of at most 64 characters"),
    ('vocabulary = ["orders_daily", 3]\n', "vocabulary[1]: 3 must be a non-empty string"),
    (f'vocabulary = ["{"x" * 65}"]\n', "vocabulary[0]: "),
    (f"vocabulary = [{', '.join(f'{chr(34)}n{i}{chr(34)}' for i in range(51))}]\n", "vocabulary: has 51 entries"),
])
def test_a_bad_language_or_vocabulary_is_named(write, hints, words):
    path = write(hints + GOOD)
    assert error_for(path).startswith(f"{path}: {words}")


def test_the_agent_files_hints_reach_the_voice_sessions_transcription(make_app, write):
    from realtime.session_config import realtime_session_config

    app = make_app(AGENT_FILE=write(HINTS + GOOD), PLATFORM_URL="http://platform.test", PLATFORM_TOKEN="tok-secret-1")
    transcription = realtime_session_config(app.config["SETTINGS"])["audio"]["input"]["transcription"]
    assert transcription == {
        "model": "gpt-4o-mini-transcribe", "language": "en",
        "prompt": "The speaker may say these names; write them exactly like this: orders_daily, events_rollup."}


@pytest.mark.parametrize("model, fields", [
    ("whisper-1", {"prompt": "orders_daily, events_rollup"}),
    ("gpt-transcribe", {"keywords": ["orders_daily", "events_rollup"]}),
    ("gpt-live-transcribe", {"keywords": ["orders_daily", "events_rollup"]}),
    ("gpt-4o-transcribe-2025-03-20", {"prompt": "The speaker may say these names; write them exactly like this: "
                                                "orders_daily, events_rollup."}),
])
def test_the_vocabulary_takes_the_form_each_transcription_model_reads(write, model, fields):
    from realtime.session_config import realtime_session_config

    settings = settings_of({**ENV, "AGENT_FILE": write(HINTS + GOOD), "OPENAI_REALTIME_TRANSCRIPTION_MODEL": model})
    transcription = realtime_session_config(settings)["audio"]["input"]["transcription"]
    assert transcription == {"model": model, "language": "en", **fields}


@pytest.mark.parametrize("model", ["gpt-realtime-whisper", "gpt-4o-transcribe-diarize"])
def test_a_vocabulary_a_transcription_model_cannot_read_stops_start_up(write, model):
    with pytest.raises(ConfigError, match=f"its vocabulary cannot reach {model}, which takes no prompt or keywords"):
        settings_of({**ENV, "AGENT_FILE": write(HINTS + GOOD), "OPENAI_REALTIME_TRANSCRIPTION_MODEL": model})


def test_without_transcription_the_hints_have_nothing_to_steer(write):
    from realtime.session_config import realtime_session_config

    settings = settings_of({**ENV, "AGENT_FILE": write(HINTS + GOOD), "OPENAI_REALTIME_TRANSCRIPTION_MODEL": ""})
    assert "transcription" not in realtime_session_config(settings)["audio"]["input"]
