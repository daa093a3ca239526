"""Prompt templates: rendering, overrides and their versions, and errors that name the problem."""

from __future__ import annotations

import pytest

from skit_pipelines.llm.prompts import PromptTemplateError, load_prompt, packaged_prompt

TEMPLATE = """\
name: judge
version: "3"
system: |
  Answer with JSON like {"breach": true}.
user: |
  <call>
  $transcript
  </call>
"""


def write(tmp_path, text: str, name: str = "p.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_render_keeps_braces_and_fills_placeholders(tmp_path):
    prompt = load_prompt("judge", write(tmp_path, TEMPLATE))
    messages = prompt.render(transcript="BOT: hi\nUSER: $5 {x}")
    assert messages[0] == {"role": "system", "content": 'Answer with JSON like {"breach": true}.\n'}
    assert messages[1]["role"] == "user"
    assert "BOT: hi\nUSER: $5 {x}" in messages[1]["content"]
    assert prompt.placeholders == {"transcript"}


def test_override_version_carries_content_hash(tmp_path):
    one = load_prompt("judge", write(tmp_path, TEMPLATE, "a.yaml"))
    two = load_prompt("judge", write(tmp_path, TEMPLATE.replace("JSON like", "only JSON like"), "b.yaml"))
    assert one.version.startswith("3+") and two.version.startswith("3+")
    assert one.version != two.version
    assert load_prompt("judge", write(tmp_path, TEMPLATE, "c.yaml")).version == one.version


def test_missing_value_is_named(tmp_path):
    prompt = load_prompt("judge", write(tmp_path, TEMPLATE))
    with pytest.raises(PromptTemplateError, match="transcript"):
        prompt.render()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: judge\nversion: '1'\n", "user"),
        ("name: judge\nversion: '1'\nuser: x\ncolour: red\n", "colour"),
        ("- a\n- b\n", "must map"),
        ("name: [unclosed\n", "not valid YAML"),
        ("name: other\nversion: '1'\nuser: x\n", "expected 'judge'"),
    ],
)
def test_bad_files_are_refused_with_the_field(tmp_path, text, expected):
    with pytest.raises(PromptTemplateError, match=expected):
        load_prompt("judge", write(tmp_path, text))


def test_unreadable_and_unknown(tmp_path):
    with pytest.raises(PromptTemplateError, match="cannot read"):
        load_prompt("judge", tmp_path / "absent.yaml")
    with pytest.raises(PromptTemplateError, match="no packaged prompt"):
        packaged_prompt("no_such_prompt")
