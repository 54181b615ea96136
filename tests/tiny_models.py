"""Tiny random Hugging Face models built from a config, for fast offline tests."""

from pathlib import Path

from transformers import AutoTokenizer, BertConfig, BertModel

from empathy_cause.encoders import default_encoder_path


def make_tiny_bert(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 32-wide random BERT with the MiniLM vocabulary to ``path``."""
    import torch

    tokenizer = AutoTokenizer.from_pretrained(default_encoder_path(), local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
