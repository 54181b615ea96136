"""Tiny random Hugging Face models built from a config, for fast offline tests."""

from pathlib import Path

from transformers import AutoTokenizer, BertConfig, BertModel

from empathy_cause.encoders.encoding import default_encoder_path


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


def tiny_bpe_tokenizer(texts):
    """A byte-level BPE trained on ``texts``: digits and commas stay apart."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>",
        eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def save_tiny_gpt2(path, tokenizer, seed, answer_alphabet=False):
    """Save a 1-layer random GPT-2; optionally able to emit only 0, 1, ","."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(n_layer=1, n_head=2, n_embd=32, n_positions=2048,
                        vocab_size=len(tokenizer),
                        bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id,
                        tie_word_embeddings=not answer_alphabet)
    model = GPT2LMHeadModel(config)
    if answer_alphabet:
        # Zero every output row but those of "0", "1" and ",", scaled up so
        # the hidden state decides between them: the answers look like
        # "1,,0,0,,", exercising the reading of label probabilities.
        with torch.no_grad():
            keep = torch.zeros(len(tokenizer), 1)
            keep[tokenizer.convert_tokens_to_ids(["0", "1", ","])] = 20.0
            model.lm_head.weight.mul_(keep)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
