"""The official `openai` package uses the studio as an OpenAI-compatible gateway.

Runs against the stack the README test command starts (STUDIO_API_URL, STUDIO_DEV_KEY_FILE)
and the mock provider it starts beside it (MOCK_PROVIDERS_URL).
"""

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.request
import uuid

import openai
import pytest

API = os.environ.get("STUDIO_API_URL")
MOCK = os.environ.get("MOCK_PROVIDERS_URL")
pytestmark = pytest.mark.skipif(not (API and MOCK), reason="needs the local stack and mock providers")


def b64(data):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(sub, email):
    with open(os.environ["STUDIO_DEV_KEY_FILE"]) as f:
        key = bytes.fromhex(f.read().strip())
    claims = {"sub": sub, "email": email, "name": None, "iss": "studio-local",
              "exp": int(time.time()) + 3600, "token_use": "id"}
    unsigned = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
    signature = hmac.new(key, unsigned.encode(), hashlib.sha256).digest()
    return f"{unsigned}.{b64(signature)}"


def http(method, url, body=None, bearer=None):
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    if bearer:
        request.add_header("authorization", f"Bearer {bearer}")
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def mock_model(allowed_roles=()):
    model_id = f"mock-{uuid.uuid4().hex[:8]}"
    state = http("POST", f"{API}/models", {
        "provider": "openai_compatible", "modelId": model_id, "name": f"Mock {model_id}",
        "capabilities": ["chat"], "allowedRoles": list(allowed_roles),
        "inputPricePer1k": "0.001", "outputPricePer1k": "0.002",
        "config": {"base_url": f"{MOCK}/v1"},
    }, bearer=token("local-admin", "admin@example.com"))
    assert state["isSuccess"], state
    return model_id


def client(sub="local-staff", email="staff@example.com"):
    return openai.OpenAI(base_url=f"{API}/v1", api_key=token(sub, email), max_retries=0)


def test_streamed_completion_carries_the_mock_answer_and_usage():
    model = mock_model()
    reply = "Streaming through the studio gateway works."
    http("PUT", f"{MOCK}/_mock/script", {"reply": reply, "usage": {"input": 40, "output": 9, "cached": 8, "reasoning": 0}})
    stream = client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Does streaming work?"}],
        stream=True, stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text == reply
    assert finish == "stop"
    assert (usage.prompt_tokens, usage.completion_tokens) == (40, 9)
    assert usage.prompt_tokens_details.cached_tokens == 8


def test_whole_completion_and_usage():
    model = mock_model()
    http("PUT", f"{MOCK}/_mock/script", {"reply": "One piece.", "usage": {"input": 12, "output": 3, "cached": 0, "reasoning": 0}})
    completion = client().chat.completions.create(
        model=model, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert completion.choices[0].message.content == "One piece."
    assert completion.usage.prompt_tokens == 12
    assert completion.usage.total_tokens == 15


def test_a_student_cannot_use_a_staff_only_model_and_no_provider_call_is_made():
    model = mock_model(allowed_roles=["staff"])
    before = len(http("GET", f"{MOCK}/_mock/requests"))
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client("local-student", "student@example.com").chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hi"}])
    assert "staff" in str(refused.value)
    assert len(http("GET", f"{MOCK}/_mock/requests")) == before
