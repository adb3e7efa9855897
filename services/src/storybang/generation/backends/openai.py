"""Any OpenAI-compatible server: vLLM, `storybang inference`, or an external API such as xAI's.

``flavour="storybang"`` adds the two routes `storybang inference` serves beyond OpenAI's:
``/v1/translations`` (a seq2seq model) and ``/v1/captions`` (an image-to-text model). Elsewhere
translation is an LLM prompt and description a vision chat message.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from storybang.generation.backends.base import Cold, Completion, Message, OnDelta, Rejected, Unavailable
from storybang.generation.prompts import translation_messages

# Connecting must be quick (a dead backend falls through fast); a long story takes a while.
TIMEOUT = httpx.Timeout(300.0, connect=5.0)


class OpenAIBackend:
    def __init__(
        self, name: str, base_url: str, model: str, *, api_key: str | None = None, flavour: str = "openai"
    ) -> None:
        self.name = name
        self.model = model
        self.flavour = flavour
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=TIMEOUT)

    async def close(self) -> None:
        await self._http.aclose()

    def _fail(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        detail = response.text[:300]
        if response.status_code == 503:  # a gateway or a server still loading its model
            raise Cold(f"{self.name}: HTTP 503: {detail}")
        # 404/408/429/5xx: the model is missing here, busy or broken — another backend may do.
        if response.status_code in (404, 408, 409, 429) or response.status_code >= 500:
            raise Unavailable(f"{self.name}: HTTP {response.status_code}: {detail}")
        raise Rejected(f"{self.name}: HTTP {response.status_code}: {detail}")

    async def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.post(path, **kwargs)
        except httpx.ConnectError as e:
            raise Cold(f"{self.name}: {type(e).__name__}: {e}") from e
        except httpx.TransportError as e:
            raise Unavailable(f"{self.name}: {type(e).__name__}: {e}") from e
        self._fail(response)
        try:
            body: dict[str, Any] = response.json()
        except ValueError as e:
            raise Unavailable(f"{self.name}: the answer is not JSON") from e
        return body

    async def chat(
        self, messages: list[Message], *, max_tokens: int, temperature: float, on_delta: OnDelta | None = None
    ) -> Completion:
        body = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        parts: list[str] = []
        usage: dict[str, int] = {}
        try:
            async with self._http.stream("POST", "chat/completions", json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    self._fail(response)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices", []):
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            parts.append(delta)
                            if on_delta is not None:
                                await on_delta(delta)
        except httpx.ConnectError as e:  # refused before a word: nothing listens (yet)
            raise Cold(f"{self.name}: {type(e).__name__}: {e}") from e
        except httpx.TransportError as e:
            raise Unavailable(f"{self.name}: {type(e).__name__}: {e}") from e
        except json.JSONDecodeError as e:
            raise Unavailable(f"{self.name}: a malformed stream chunk") from e
        text = "".join(parts)
        return Completion(
            text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)) or max(1, len(text) // 4)
        )

    async def translate(self, text: str, *, source: str, target: str) -> str:
        if self.flavour == "storybang":
            answer = await self._post(
                "translations", json={"text": text, "source_language": source, "target_language": target}
            )
            return str(answer["text"])
        result = await self.chat(translation_messages(text, source, target), max_tokens=2048, temperature=0.2)
        return result.text.strip()

    async def describe(self, image: bytes, content_type: str) -> str:
        if self.flavour == "storybang":
            answer = await self._post("captions", files={"file": ("image", image, content_type)})
            return str(answer["text"])
        data_url = f"data:{content_type};base64,{base64.b64encode(image).decode()}"
        body = {
            "model": self.model,
            "max_tokens": 300,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "Describe the person or creature in this picture for a storybook: "
                            "appearance, clothes, expression. Two or three sentences.",
                        },
                        {"type": "image_url", "image_url": {"url": data_url}},
                    ],
                }
            ],
        }
        answer = await self._post("chat/completions", json=body)
        return str(answer["choices"][0]["message"]["content"]).strip()

    async def draw(self, prompt: str, *, size: str) -> bytes:
        answer = await self._post(
            "images/generations",
            json={"model": self.model, "prompt": prompt, "size": size, "n": 1, "response_format": "b64_json"},
        )
        try:
            return base64.b64decode(answer["data"][0]["b64_json"])
        except (KeyError, IndexError, ValueError) as e:
            raise Unavailable(f"{self.name}: no image in the answer") from e
