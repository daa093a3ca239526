"""Where an OpenAI-compatible chat-completions server is and how hard to use it: plain values.

Why a module of its own: ``config.Settings.llm()`` builds one from the ``SKIT_LLM_*`` settings and the client
takes one, so neither imports the other (the settings module stays light; the client needs no settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skit_pipelines.errors import SkitPipelinesError

DEFAULT_TIMEOUT_S = 60.0


class InvalidLLMEndpoint(SkitPipelinesError, ValueError):
    """An endpoint whose values cannot work (no concurrency, no time to answer)."""


@dataclass(frozen=True)
class LLMEndpoint:
    """One chat-completions endpoint. ``api_key`` is kept out of ``repr`` so that printing never leaks it.

    ``base_url`` empty means the OpenAI API itself (the ``openai`` package's default). Any compatible server
    works: OpenAI, Azure-compatible gateways, vLLM, the llama.cpp server, Ollama (``http://host:11434/v1``).
    """

    model: str
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    concurrency: int = 4
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise InvalidLLMEndpoint(f"LLM concurrency must be at least 1, got {self.concurrency}")
        if self.timeout_s <= 0:
            raise InvalidLLMEndpoint(f"LLM timeout must be positive, got {self.timeout_s}")

    @property
    def configured(self) -> bool:
        """A model and somewhere to send it (a server, or an API key for the default OpenAI API)."""
        return bool(self.model) and bool(self.base_url or self.api_key)
