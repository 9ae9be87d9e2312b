#!/usr/bin/env bash
# Inside a part of gateway/, calls go one way: each part whose README.md
# lists its .c files from the bottom up (a table row per file, "| `f.c` |",
# or "| `f.c`, `f.h` |")
# must list every .c file of its folder, and no file may call a function
# defined in a file listed after it.  A part without such a table is not
# checked.  Functions are found by their definitions (a line at column 0
# naming the function, not static), calls by "name(" outside comments and
# strings.
set -euo pipefail
src=${ICX_SOURCE_DIR:?ICX_SOURCE_DIR not set}
python3 - "$src/gateway" <<'EOF'
import os, re, sys

root = sys.argv[1]
row = re.compile(r'^\|\s*`([A-Za-z0-9_]+\.c)`[^|]*\|')
defn = re.compile(r'^(?!static\b|typedef\b|struct\b|enum\b|#)[A-Za-z_][^;=()]*?'
                  r'\b([A-Za-z_][A-Za-z0-9_]*)\s*\(')

def code_only(text):
    """The text with comments, string and character literals blanked."""
    text = re.sub(r'/\*.*?\*/', lambda m: re.sub(r'[^\n]', ' ', m.group(0)),
                  text, flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', '""', text)

failures, checked = [], 0
for part in sorted(os.listdir(root)):
    folder = os.path.join(root, part)
    readme = os.path.join(folder, 'README.md')
    if not os.path.isfile(readme):
        continue
    with open(readme, encoding='utf-8') as f:
        order = [m.group(1) for m in map(row.match, f) if m]
    if not order:
        continue
    checked += 1
    present = sorted(n for n in os.listdir(folder) if n.endswith('.c'))
    for name in present:
        if name not in order:
            failures.append(f'gateway/{part}/README.md: {name} is not in the '
                            'order of the files')
    for name in order:
        if name not in present:
            failures.append(f'gateway/{part}/README.md: {name} is listed but '
                            'does not exist')
    files = [n for n in order if n in present]
    code = {}
    for name in files:
        with open(os.path.join(folder, name), encoding='utf-8') as f:
            code[name] = code_only(f.read())
    defined = {}
    for name in files:
        for line in code[name].splitlines():
            m = defn.match(line)
            if m and not line.rstrip().endswith(';'):
                defined.setdefault(m.group(1), name)
    for i, caller in enumerate(files):
        for fn, owner in sorted(defined.items()):
            if files.index(owner) <= i:
                continue
            if re.search(r'(?<![A-Za-z0-9_.>])' + fn + r'\s*\(', code[caller]):
                failures.append(f'gateway/{part}/{caller} calls {fn} of '
                                f'{owner}, listed after it in README.md')

for f in failures:
    print(f)
print(f'{checked} parts checked, {len(failures)} failed')
sys.exit(1 if failures else 0)
EOF
