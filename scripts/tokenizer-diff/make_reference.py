#!/usr/bin/env python3
"""Writes a Hugging Face tokenizer.json for a GGUF vocabulary: the GGUF's tokens and merges, and the
pre-tokenizer rules given as a JSON file (the published tokenizer.json's "pre_tokenizer" object),
so that Hugging Face's own library can tokenize with them. BPE vocabularies only."""
import json
import struct
import sys

TYPES = {0: ('<B', 1), 1: ('<b', 1), 2: ('<H', 2), 3: ('<h', 2), 4: ('<I', 4), 5: ('<i', 4), 6: ('<f', 4),
         7: ('<?', 1), 10: ('<Q', 8), 11: ('<q', 8), 12: ('<d', 8)}


def read_metadata(path):
    data = open(path, 'rb').read()
    pos = 0

    def take(fmt, size):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)[0]
        pos += size
        return value

    def string():
        nonlocal pos
        n = take('<Q', 8)
        value = data[pos:pos + n].decode('utf-8', errors='surrogateescape')
        pos += n
        return value

    def value(kind):
        if kind == 8:
            return string()
        if kind == 9:
            inner = take('<I', 4)
            return [value(inner) for _ in range(take('<Q', 8))]
        return take(*TYPES[kind])

    if data[:4] != b'GGUF':
        sys.exit(f'{path}: not a GGUF file')
    pos = 8
    take('<Q', 8)  # tensors
    out = {}
    for _ in range(take('<Q', 8)):
        key = string()
        out[key] = value(take('<I', 4))
    return out


def main():
    vocab_path, pre_path, out_path = sys.argv[1:4]
    meta = read_metadata(vocab_path)
    if meta.get('tokenizer.ggml.model') != 'gpt2':
        sys.exit(f'{vocab_path}: only BPE ("gpt2") vocabularies are supported')
    tokens = meta['tokenizer.ggml.tokens']
    types = meta.get('tokenizer.ggml.token_type', [1] * len(tokens))
    vocab, added = {}, []
    for i, (text, kind) in enumerate(zip(tokens, types)):
        if kind == 3:  # control tokens: matched only as special tokens, never in plain text
            added.append({'id': i, 'content': text, 'single_word': False, 'lstrip': False, 'rstrip': False,
                          'normalized': False, 'special': True})
        vocab.setdefault(text, i)
    tokenizer = {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added, 'normalizer': None,
        'pre_tokenizer': json.load(open(pre_path, encoding='utf-8')), 'post_processor': None,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'vocab': vocab,
                  'merges': meta['tokenizer.ggml.merges']},
    }
    json.dump(tokenizer, open(out_path, 'w', encoding='utf-8'), ensure_ascii=False)


if __name__ == '__main__':
    main()
