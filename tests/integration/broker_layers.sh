#!/usr/bin/env bash
# The files of gateway/broker call each other one way only: each calls
# only files listed before it in gateway/broker/README.md (bottom up),
# every .c of the part is in that list, and none is over 800 lines.
# Calls are found by name: a file that mentions a function another file
# of the part defines (comments and strings aside) calls it.
set -euo pipefail
src=${ICX_SOURCE_DIR:?ICX_SOURCE_DIR not set}
part=${ICX_LAYERS_PART:-gateway/broker}
cd "$src"
python3 - "$part" <<'EOF'
import glob, os, re, sys

part = sys.argv[1]
readme = os.path.join(part, "README.md")
order = []
with open(readme) as f:
    for line in f:
        m = re.match(r"- `([\w.]+\.c)`", line)
        if m:
            order.append(m.group(1))
rank = {name: i for i, name in enumerate(order)}
files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(part, "*.c")))
errors = []
for name in files:
    if name not in rank:
        errors.append(f"{part}/{name}: not in the file order of {readme}")

def code(path):
    with open(path) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(\\.|[^'\\\n])*'", "''", text)

src = {name: code(os.path.join(part, name)) for name in files}
defined = {}
for name, text in src.items():
    lines = text.count("\n") + 1
    if lines > 800:
        errors.append(f"{part}/{name}: {lines} lines, over 800")
    for m in re.finditer(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b(icx_\w+)\s*\([^;{]*\)\s*\{",
                         text, re.M):
        defined[m.group(1)] = name
calls = 0
for name, text in src.items():
    for fn, home in defined.items():
        if home == name or not re.search(r"\b" + fn + r"\b", text):
            continue
        calls += 1
        if name in rank and home in rank and rank[home] > rank[name]:
            errors.append(f"{part}/{name}: calls {fn} ({home}), which "
                          f"{readme} lists above it")
if not order or calls == 0:
    errors.append(f"{readme}: no file order found, or no calls: nothing checked")
for e in errors:
    print(e)
if errors:
    print(f"0 passed, {len(errors)} failed")
    sys.exit(1)
print(f"{len(files)} files, {calls} cross-file calls checked: 1 passed, 0 failed")
EOF
