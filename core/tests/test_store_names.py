"""The core names no store (README, issue 23): its code, comments and docstrings aside, names a
store on at most five lines. Store knowledge lives in the providers; a line naming one in core
code is a sign that something belongs in a provider or behind a hook."""

import io
import re
import tokenize
from pathlib import Path

import imageworks_core

CORE = Path(imageworks_core.__file__).parent
STORE = re.compile(r"(?<![a-z0-9])(hf|hugging\s?face|huggingface|ollama|lm\s?studio|lm_studio|lmstudio|local_scan|"
                   r"linux_wsl|windows_lmstudio)(?![a-z0-9])|HF_|HUGGING_FACE", re.I)
MOST = 5


def code_lines(source: str) -> dict[int, str]:
    """Line number -> the line's code tokens: comments and docstrings (a string that is a whole
    statement) dropped."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT}
    lines: dict[int, list[str]] = {}
    for i, token in enumerate(tokens):
        if token.type == tokenize.COMMENT:
            continue
        if token.type == tokenize.STRING:
            before = next((t for t in reversed(tokens[:i]) if t.type not in skip), None)
            after = next((t for t in tokens[i + 1:] if t.type not in (tokenize.NL, tokenize.COMMENT)), None)
            starts_statement = before is None or before.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) \
                or before.string == ":" or tokens[i - 1].type in skip
            if starts_statement and after is not None and after.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                continue
        for line in range(token.start[0], token.end[0] + 1):
            lines.setdefault(line, []).append(token.string)
    return {line: " ".join(parts) for line, parts in lines.items()}


def store_lines() -> list[str]:
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for line, text in sorted(code_lines(path.read_text()).items()):
            if STORE.search(text):
                found.append(f"{path.relative_to(CORE)}:{line}: {text.strip()}")
    return found


def test_core_code_names_a_store_on_at_most_five_lines():
    found = store_lines()
    assert len(found) <= MOST, "\n".join(found)


def test_the_counter_sees_code_and_skips_comments_and_docstrings():
    source = '''"""A docstring naming Ollama."""
# a comment naming hf
def f():
    """LM Studio in a docstring."""
    x = "ollama"  # code
    return {"hf": x}
'''
    named = [line for line, text in code_lines(source).items() if STORE.search(text)]
    assert named == [5, 6]
