#!/usr/bin/env python3
"""A strict checker of the OpenMetrics text format (1.0.0), for /metrics.

Reads an exposition from a file (or - for stdin) and exits 0 when it
conforms, 1 with one line per problem ("line N: what") when it does not.
With --dump it prints the samples as "name{labels} value" lines (labels
sorted) so tests can grep values.

Checked: the text is UTF-8 and ends with exactly one "# EOF" line (and
nothing after it); metadata lines are TYPE, HELP or UNIT only, each at
most once per family and before its samples; metric and label names
match their grammar; label values are quoted with only \\\\, \\" and
\\n escapes; no label name repeats in a sample, no sample repeats; a
family's samples are contiguous and not interleaved with another's;
sample names fit the family's type (counter: _total and _created;
gauge: the name itself; histogram: _bucket with le, _count, _sum,
_created); a UNIT is the family name's suffix; counters, _count, _sum
of a histogram and buckets are non-negative numbers; histogram buckets
are in increasing le order with non-decreasing counts, end with
le="+Inf", and _count equals the +Inf bucket.
"""
import math
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*\Z')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*\Z')
TYPES = {'counter', 'gauge', 'histogram', 'gaugehistogram', 'stateset',
         'info', 'summary', 'unknown'}
NUMBER = re.compile(r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z'
                    r'|[+-]?Inf\Z|NaN\Z')


class Problem(Exception):
    pass


def parse_value(text, what):
    if not NUMBER.match(text):
        raise Problem(f'{what} "{text}" is not a number')
    return float(text.replace('Inf', 'inf').replace('NaN', 'nan'))


def parse_labels(text):
    """text is what lies between { and }; returns [(name, value)]."""
    labels, i = [], 0
    while i < len(text):
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', text[i:])
        if not m:
            raise Problem(f'bad label at "{text[i:i + 20]}"')
        name = m.group(1)
        i += m.end()
        value = []
        while True:
            if i >= len(text):
                raise Problem(f'label {name}: unterminated value')
            c = text[i]
            if c == '\\':
                if i + 1 >= len(text) or text[i + 1] not in '\\"n':
                    raise Problem(f'label {name}: bad escape')
                value.append({'\\': '\\', '"': '"', 'n': '\n'}[text[i + 1]])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                raise Problem(f'label {name}: raw newline')
            else:
                value.append(c)
                i += 1
        if any(n == name for n, _ in labels):
            raise Problem(f'label {name} repeated')
        labels.append((name, ''.join(value)))
        if i < len(text):
            if text[i] != ',':
                raise Problem(f'expected "," after label {name}')
            i += 1
            if i == len(text):
                raise Problem('trailing "," in labels')
    return labels


def split_sample(line):
    """name, labels, value text, timestamp text or None."""
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)', line)
    if not m:
        raise Problem('sample does not start with a metric name')
    name, rest = m.group(1), line[m.end():]
    labels = []
    if rest.startswith('{'):
        # find the closing brace outside quotes
        i, quoted = 1, False
        while i < len(rest):
            c = rest[i]
            if quoted and c == '\\':
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            elif c == '}' and not quoted:
                break
            i += 1
        if i >= len(rest):
            raise Problem('unterminated label set')
        labels = parse_labels(rest[1:i])
        rest = rest[i + 1:]
    if not rest.startswith(' '):
        raise Problem('no single space before the value')
    parts = rest[1:].split(' ')
    if len(parts) not in (1, 2) or '' in parts:
        raise Problem('value (and timestamp) badly spaced')
    return name, labels, parts[0], parts[1] if len(parts) == 2 else None


def family_of(sample, families):
    """The family a sample name belongs to, and the suffix."""
    for suffix in ('_total', '_created', '_bucket', '_count', '_sum', '_gcount',
                   '_gsum', '_info', ''):
        if suffix and not sample.endswith(suffix):
            continue
        base = sample[:len(sample) - len(suffix)] if suffix else sample
        if base in families:
            return base, suffix
    return None, None


ALLOWED = {
    'counter': {'_total', '_created'},
    'gauge': {''},
    'histogram': {'_bucket', '_count', '_sum', '_created'},
    'gaugehistogram': {'_bucket', '_gcount', '_gsum'},
    'summary': {'', '_count', '_sum', '_created'},
    'info': {'_info'},
    'stateset': {''},
    'unknown': {''},
}


def check(data):
    problems, samples = [], []
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        return [f'not UTF-8: {e}'], []
    if not text.endswith('# EOF\n') and not text.endswith('# EOF'):
        problems.append('does not end with "# EOF"')
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    families = {}      # name -> {type, help, unit, done, line}
    order = []
    current = None
    seen = set()
    hist = {}          # (family, labels without le) -> [(le, count)], count
    eof_at = None
    for n, line in enumerate(lines, 1):
        try:
            if eof_at is not None:
                raise Problem('text after "# EOF"')
            if line == '# EOF':
                eof_at = n
                continue
            if line.startswith('#'):
                m = re.match(r'# (TYPE|HELP|UNIT) (\S+)(?: (.*))?\Z', line)
                if not m:
                    raise Problem(f'comment that is not TYPE, HELP or UNIT: '
                                  f'"{line[:40]}"')
                kind, name, rest = m.group(1), m.group(2), m.group(3)
                if not NAME.match(name):
                    raise Problem(f'bad metric name "{name}"')
                fam = families.get(name)
                if fam is None:
                    if current is not None:
                        families[current]['done'] = True
                    fam = families[name] = {'type': 'unknown', 'help': None,
                                            'unit': None, 'done': False,
                                            'samples': 0, 'typed': False}
                    order.append(name)
                    current = name
                elif fam['done'] or name != current:
                    raise Problem(f'metadata of {name} after another '
                                  'family began')
                elif fam['samples']:
                    raise Problem(f'{kind} of {name} after its samples')
                if kind == 'TYPE':
                    if fam['typed']:
                        raise Problem(f'second TYPE for {name}')
                    if rest not in TYPES:
                        raise Problem(f'unknown type "{rest}"')
                    if rest == 'counter' and name.endswith('_total'):
                        raise Problem(f'counter family {name} ends in _total')
                    fam['type'], fam['typed'] = rest, True
                elif kind == 'HELP':
                    if fam['help'] is not None:
                        raise Problem(f'second HELP for {name}')
                    if rest is None:
                        raise Problem(f'HELP of {name} without text')
                    if re.search(r'\\[^\\n"]', rest) or rest.endswith('\\'):
                        raise Problem(f'HELP of {name}: bad escape')
                    fam['help'] = rest
                else:
                    if fam['unit'] is not None:
                        raise Problem(f'second UNIT for {name}')
                    if not rest or not LABEL.match(rest):
                        raise Problem(f'bad unit "{rest}"')
                    if not name.endswith('_' + rest):
                        raise Problem(f'{name} does not end in its unit _{rest}')
                    fam['unit'] = rest
                continue
            if line == '':
                raise Problem('empty line')
            name, labels, value, ts = split_sample(line)
            base, suffix = family_of(name, families)
            if base is None:
                raise Problem(f'sample {name} without a TYPE line for its family')
            fam = families[base]
            if base != current:
                raise Problem(f'sample {name} of family {base} after another '
                              'family began')
            if suffix not in ALLOWED[fam['type']]:
                raise Problem(f'sample {name} does not fit {fam["type"]} '
                              f'{base}')
            fam['samples'] += 1
            v = parse_value(value, f'value of {name}')
            if ts is not None:
                parse_value(ts, f'timestamp of {name}')
            key = (name, tuple(sorted(labels)))
            if key in seen:
                raise Problem(f'sample {name}{dict(labels)} repeated')
            seen.add(key)
            if fam['type'] in ('counter', 'histogram') and suffix != '_created':
                if math.isnan(v) or v < 0:
                    raise Problem(f'{name} is negative or NaN')
            if fam['type'] == 'histogram':
                other = tuple(sorted((k, x) for k, x in labels if k != 'le'))
                h = hist.setdefault((base, other), {'b': [], 'count': None,
                                                    'sum': None, 'line': n})
                if suffix == '_bucket':
                    le = [x for k, x in labels if k == 'le']
                    if not le:
                        raise Problem(f'{name} without le')
                    lev = parse_value(le[0], 'le')
                    if h['count'] is not None:
                        raise Problem(f'{name} after _count')
                    h['b'].append((lev, v))
                elif suffix == '_count':
                    h['count'] = v
                elif suffix == '_sum':
                    h['sum'] = v
                if suffix != '_bucket' and any(k == 'le' for k, _ in labels):
                    raise Problem(f'{name} carries le')
            elif any(k == 'le' for k, _ in labels) and fam['type'] == 'counter':
                pass
            samples.append((name, labels, v))
        except Problem as p:
            problems.append(f'line {n}: {p}')
    if eof_at is None:
        problems.append('no "# EOF" line')
    for (base, other), h in hist.items():
        where = f'histogram {base}{dict(other)}'
        b = h['b']
        if not b:
            problems.append(f'{where}: no buckets')
            continue
        les = [le for le, _ in b]
        if les != sorted(les) or len(set(les)) != len(les):
            problems.append(f'{where}: buckets not in increasing le order')
        counts = [c for _, c in b]
        if any(b2 < b1 for b1, b2 in zip(counts, counts[1:])):
            problems.append(f'{where}: bucket counts decrease')
        if not math.isinf(les[-1]) or les[-1] < 0:
            problems.append(f'{where}: last bucket is not le="+Inf"')
        if h['count'] is None or h['sum'] is None:
            problems.append(f'{where}: _count or _sum missing')
        elif h['count'] != counts[-1]:
            problems.append(f'{where}: _count {h["count"]} is not the +Inf '
                            f'bucket {counts[-1]}')
    for name in order:
        if not families[name]['typed']:
            problems.append(f'family {name} has no TYPE line')
    return problems, samples


def main():
    args = sys.argv[1:]
    dump = '--dump' in args
    args = [a for a in args if a != '--dump']
    if len(args) != 1:
        print('usage: openmetrics_check.py [--dump] FILE|-', file=sys.stderr)
        return 2
    data = sys.stdin.buffer.read() if args[0] == '-' else open(args[0], 'rb').read()
    problems, samples = check(data)
    for p in problems:
        print(p)
    if dump and not problems:
        for name, labels, v in samples:
            lab = ','.join(f'{k}="{x}"' for k, x in sorted(labels))
            print(f'{name}{{{lab}}} {v:g}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
