"""The official `openai` package reads the mock provider server (`studio mock-providers`)
as it reads OpenAI and Azure OpenAI: the mock's chunks, usage and errors have the real
shapes, so the Rust adapters tested against it are tested against the real wire format.

Run by scripts/test.sh (needs the workspace built; no stack).
"""

import os
import pathlib
import subprocess

import httpx
import openai
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY = "sk-mock-python"
REPLY = "Paris is the capital of France."


def studio_binary() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    binary = target / "debug" / "studio"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build the workspace first")
    return binary


@pytest.fixture(scope="module")
def mock():
    process = subprocess.Popen(
        [str(studio_binary()), "mock-providers", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("Mock providers on http://"), first
        yield first.split(" on ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture()
def script(mock):
    def set_script(**fields):
        body = {"reply": REPLY, "apiKey": KEY, "reasoning": "Thinking.",
                "usage": {"input": 31, "output": 17, "cached": 8, "reasoning": 4}}
        body.update(fields)
        httpx.put(f"{mock}/_mock/script", json=body).raise_for_status()

    set_script()
    return set_script


def client(mock: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{mock}/v1", api_key=KEY, max_retries=0)


def test_the_sdk_streams_deltas_and_the_final_usage_chunk(mock, script):
    stream = client(mock).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Capital of France?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert (usage.prompt_tokens, usage.completion_tokens) == (31, 17)
    assert usage.prompt_tokens_details.cached_tokens == 8
    assert usage.completion_tokens_details.reasoning_tokens == 4


def test_the_sdk_reads_a_whole_completion(mock, script):
    done = client(mock).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}]
    )
    assert done.choices[0].message.content == REPLY
    assert done.usage.total_tokens == 48


def test_the_sdk_sees_a_rate_limit_with_retry_after(mock, script):
    httpx.post(f"{mock}/_mock/faults",
               json={"fault": {"kind": "rateLimited", "retryAfter": "3"}, "times": 1}).raise_for_status()
    with pytest.raises(openai.RateLimitError) as raised:
        client(mock).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.response.headers["retry-after"] == "3"
    assert raised.value.code == "rate_limit_exceeded"


def test_the_azure_sdk_reaches_a_deployment(mock, script):
    azure = openai.AzureOpenAI(azure_endpoint=mock, api_key=KEY, api_version="2024-10-21", max_retries=0)
    done = azure.chat.completions.create(model="prod-gpt4o", messages=[{"role": "user", "content": "hi"}])
    assert done.choices[0].message.content == REPLY
    last = httpx.get(f"{mock}/_mock/requests").json()[-1]
    assert last["api"] == "azure"
    assert last["path"] == "/openai/deployments/prod-gpt4o/chat/completions"
    assert last["headers"]["api-key"] == KEY


def test_a_wrong_key_gets_the_sdks_authentication_error(mock, script):
    wrong = openai.OpenAI(base_url=f"{mock}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
