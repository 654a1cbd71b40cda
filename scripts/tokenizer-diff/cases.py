#!/usr/bin/env python3
"""Prints a JSON array of N random texts (seeded) built from whitespace-heavy pieces. Characters
that the vocabulary also carries as added (user-defined) tokens are left out: a tokenizer.json
rebuilt from a GGUF cannot give one string two ids (DeepSeek LLM's added "ü" beside the byte
token "ü"), so Hugging Face would not see them as the model's tokenizer does."""
import json
import random
import sys

sys.path.insert(0, __import__('os').path.dirname(__file__))
from make_reference import read_metadata  # noqa: E402

PIECES = ['a', 'Zb', 'Hello', ' ', '  ', '\u00a0', '\u00a0\u00a0', '\n', '\r', '\t', '1', '234', '.', '!?', "'s",
          '\u3000', '\u2009', '\u202f', '\u0085', '\u1680', '\u2028', '\u000b', '\u000c', '\u200b', '\ufeff',
          '\u4f60\u597d', '\u00e9', '-', '\u03a9', '\u2126', '\u1f7d', '\u2139', '\uff21', '\u3002']


def main():
    vocab, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    meta = read_metadata(vocab)
    added = {t for t, k in zip(meta['tokenizer.ggml.tokens'], meta.get('tokenizer.ggml.token_type', [])) if k == 4}
    pieces = [p for p in PIECES if not any(a in p for a in added)]
    rng = random.Random(seed)
    cases = [''.join(rng.choice(pieces) for _ in range(rng.randint(1, 10))) for _ in range(n)]
    json.dump(cases, sys.stdout)


if __name__ == '__main__':
    main()
