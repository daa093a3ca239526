"""Clients of large language models: one OpenAI-compatible chat-completions client at the edge."""
