#!/usr/bin/env python3
"""Tokenizes each case with `parley tokenize` and compares with the reference's ids."""
import json
import os
import subprocess
import sys
import tempfile


def main():
    parley, vocab, cases_path, reference_path = sys.argv[1:5]
    cases = json.load(open(cases_path, encoding='utf-8'))
    reference = json.load(open(reference_path))
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        text_path = os.path.join(tmp, 'text')
        for text, want in zip(cases, reference):
            with open(text_path, 'w', encoding='utf-8') as f:
                f.write(text)
            got = json.loads(subprocess.run([parley, 'tokenize', '--model', vocab, '--no-bos', '--json', '--file',
                                             text_path], check=True, capture_output=True, text=True).stdout)
            if got != want:
                differences += 1
                print(f'DIFF {text!r}\n  parley    {got}\n  reference {want}')
    print(f'{len(cases)} texts, {differences} differences')
    sys.exit(1 if differences else 0)


if __name__ == '__main__':
    main()
