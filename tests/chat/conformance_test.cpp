// Small templates, each exercising one corner of the language, rendered by us and by Jinja2 (at
// test time, through jinja_reference.py): outputs must be identical, or both must fail.
#include <gtest/gtest.h>

#include "chat/chat_template.h"
#include "chat/json.h"
#include "jinja_reference.h"

namespace parley::chat {
namespace {

constexpr std::string_view kContext = R"({
  "s": "Hello World", "n": 5, "f": 2.5, "neg": -3, "big": 1234567, "t": true, "nothing": null,
  "empty": "", "el": [], "ed": {}, "l": [3, 1, 2], "words": ["b", "A", "c", "a"],
  "d": {"b": 2, "a": 1, "items": "a key named items"},
  "u": "\u00dcn\u00efc\u00f6de \u65e5\u672c \ud83d\ude00", "html": "<a href='x'>&\"</a>",
  "ws": "  \t padded \n ", "lines": "one\ntwo\r\nthree\n",
  "nested": {"x": {"y": [1, {"z": "deep"}]}},
  "messages": [], "people": [{"name": "Ann", "age": 30, "role": "admin"}, {"name": "bob", "age": 25},
             {"name": "Cid", "age": 35, "role": "user"}, {"name": "ann", "age": 30, "role": null}],
  "floats": [0.1, 1e16, 1e-05, 0.0001, 123456789.125, -0.0, 1.5e300, 3.0],
  "schema": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": ["integer", "null"]}}}
})";

// One template per entry. Keep them small: a failure should point at one feature.
const char* const kSnippets[] = {
    // output and literals
    "{{ 1 }} {{ 1.5 }} {{ -2 }} {{ 'a' }} {{ \"b\" }} {{ true }} {{ False }} {{ none }} {{ None }}",
    "{{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1e3 }} {{ 2.5E-3 }} {{ 10 / 4 }} {{ 10 // 4 }} {{ -7 // 2 }}",
    "{{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 0.5 }} {{ 3 * 'ab' }} {{ [1] * 3 }}",
    "{{ 'a' 'b' }} {{ 'x\\ty\\n' }} {{ '\\u00e9\\x41\\101' }} {{ 'it\\'s' }} {{ \"q\\\"q\" }} {{ '\\d' }}",
    "{{ [1, 'a', none, true, 1.0] }} {{ (1,) }} {{ (1, 2) }} {{ () }} {{ {'a': [1, {'b': none}]} }} {{ 1, 2 }}",
    "{{ floats }}",
    "{% for x in floats %}{{ x }}|{{ x|string }}|{{ x|tojson }};{% endfor %}",
    "{{ u }} {{ [u] }} {{ html }} {{ [html] }} {{ {'k': \"it's\"} }} {{ ['a\"b', \"c'd\", 'e\\\\f', 'g\\nh'] }}",
    // arithmetic and types
    "{{ n + f }} {{ n * 2.0 }} {{ true + 1 }} {{ n - neg }} {{ 1 + 2 * 3 ** 2 }} {{ (1 + 2) * 3 }} {{ -n|abs }} {{ - n }}",
    "{{ 'a' + 1 }}",
    "{{ 'a' ~ 1 ~ none ~ true ~ u ~ [1] }}",
    "{{ l + [4] }} {{ (1, 2) + (3,) }} {{ s * 0 }}|{{ s * -1 }}|",
    "{{ l + (1,) }}",
    "{{ 1 / 0 }}",
    "{{ 5 // 0 }}",
    "{{ undefined_thing + 1 }}",
    "{{ n < 'a' }}",
    // comparisons and logic
    "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} {{ true == 1 }}",
    "{{ 'ell' in s }} {{ 'x' not in s }} {{ 2 in l }} {{ 'a' in d }} {{ 'items' in d }} {{ 1 in el }} {{ 'q' in missing }}",
    "{{ 1 in s }}",
    "{{ n and s }} {{ empty or 'fallback' }} {{ none or 0 }} {{ not n }} {{ not empty }} {{ n > 3 and n < 10 }}",
    "{{ 'yes' if t else 'no' }} {{ 'yes' if nothing else 'no' }} [{{ 'only' if false }}] {{ (1 if t else 2) + 1 }}",
    "{{ x if x is defined else 'undef' }} {{ missing|default('dflt') }} {{ empty|default('e', true) }} {{ nothing|d('nn') }}",
    // attribute and item access
    "{{ d.a }} {{ d['b'] }} {{ d.items is callable }} {{ d['items'] }} {{ d.missing }}|{{ nested.x.y[1].z }} {{ nested['x']['y'][0] }}",
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}",
    "{{ l[0] }} {{ l[-1] }} {{ l[5] }}|{{ s[0] }}{{ s[-1] }} {{ u[0] }}{{ u[-1] }} {{ l.0 }} {{ people.1.name }}",
    "{{ missing.attr }}",
    "{{ d.missing.deeper }}",
    "{{ missing['k'] }}",
    "{{ nothing.attr }}|{{ nothing['k'] }}|{{ n.real }}|{{ l.foo }}|{{ s.foo }}",
    "{{ l.append }}|{{ l.append is defined }}|{{ d.update is defined }}|{{ s.__class__ is defined }}",
    "{{ l.append(4) }}",
    "{% set ns = namespace(a=1) %}{{ ns.a }}{{ ns['a'] }}{{ ns.b }}|{% set ns.b = 2 %}{{ ns.b }}",
    // slicing
    "{{ s[1:4] }} {{ s[:3] }} {{ s[-3:] }} {{ s[::-1] }} {{ s[::2] }} {{ s[10:2:-2] }} {{ s[100:] }}| {{ u[::-1] }} {{ u[2:5] }}",
    "{{ l[1:] }} {{ l[::-1] }} {{ l[-2:] }} {{ l[:-1] }} {{ (1, 2, 3)[1:] }} {{ l[1:2:0] if false else 'ok' }}",
    "{{ l[::0] }}",
    "{{ nothing[1:] }}",
    "{{ d[1:] }}",
    "{{ missing[1:] }}",
    "{{ l[1.5:] }}",
    // filters: strings
    "{{ ws|trim }}|{{ ws|trim(' \\n') }}|{{ 'xxhixx'|trim('x') }}|{{ s|upper }} {{ s|lower }} {{ 'hello world'|capitalize }}",
    "{{ 'hELLO wORLD-foo(bar)[baz]{q}<r> x_y'|title }}|{{ \"they're here\"|title }}|{{ 'ab1cd'.title() }}|{{ \"they're\".title() }}",
    "{{ s|replace('o', '0') }} {{ s|replace('l', 'L', 2) }} {{ 'abc'|replace('', '-') }} {{ s|length }} {{ u|length }} {{ s|count }}",
    "{{ 'a\\nb\\n'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'x'|indent('> ', first=true) }}",
    "{{ 5|indent }}",
    "{{ html|e }} {{ html|escape }} {{ html|safe }} {{ (html|e)|e }} {{ html|forceescape }}",
    "{{ 'a'|safe + '<' }}|{{ '<' + 'a'|safe }}|{{ 'a'|safe ~ '<' }}|{{ ('<a>'|safe).replace('a', '<') }}|{{ ('x'|safe) * 2 }}",
    "{{ ('<'|safe + '>')|trim }}|{{ ('<'|safe)|upper }}|{{ ('a'|safe)|replace('a', '<') }}|{{ [('<b>'|safe)]|join(', ') }}",
    "{{ '%s-%d-%05.2f-%r-%x-%%' % ('a', 3, 2.5, 'q', 255) }} {{ '%(a)s!' % {'a': 1} }} {{ '%s' % 5 }} {{ '%s' | format('z') }}",
    "{{ '%d' % 'x' }}",
    "{{ '{} and {}'.format(1, 'b') }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{x}!'.format(x=3) }} {{ '{:>5}|{:<4}|{:^5}|{:05d}|{:.2f}|{:,}'.format('r', 'l', 'c', 42, 3.14159, 1234567) }}",
    "{{ s|center(17) }}|{{ s.center(16, '*') }}|{{ s.ljust(13, '.') }}|{{ s.rjust(13) }}|{{ '42'.zfill(5) }}|{{ '-4'.zfill(4) }}",
    "{{ 'one two  three'|wordcount }} {{ u|wordcount }} {{ 'a-b_c'|wordcount }}",
    "{{ ' 12 '|int }} {{ '0x1A'|int(base=16) }} {{ '1_000'|int }} {{ '3.9'|int }} {{ 'abc'|int }} {{ 'abc'|int(7) }} {{ 3.9|int }} {{ -3.9|int }} {{ true|int }} {{ nothing|int }}",
    "{{ '1.5'|float }} {{ ' 2 '|float }} {{ 'x'|float }} {{ 'inf'|float }} {{ 'nan'|float }} {{ 3|float }} {{ '1e3'|float }} {{ '1_0.5'|float }}",
    "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(0, 'floor') }} {{ 5|round }} {{ 1234.5|round(-2) }}",
    "{{ n|string + '!' }} {{ l|string }} {{ d|string }} {{ nothing|string }} {{ t|string }} {{ missing|string }}|",
    // filters: sequences
    "{{ l|join }} {{ l|join(', ') }} {{ people|join('/', attribute='name') }} {{ s|join('.') }} {{ missing|join(',') }}|",
    "{{ l|first }} {{ l|last }} {{ s|first }} {{ s|last }} {{ d|first }} {{ d|last }} {{ el|first }}|{{ el|last }}|",
    "{{ l|sort }} {{ l|sort(reverse=true) }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ people|sort(attribute='age')|map(attribute='name')|list }}",
    "{{ people|sort(attribute='age,name')|map(attribute='name')|join(',') }} {{ people|sort(attribute='name', reverse=true)|map(attribute='name')|join(',') }}",
    "{{ [1, 'a']|sort }}",
    "{{ d|dictsort }} {{ d|dictsort(reverse=true) }} {{ {'b': 1, 'A': 2, 'a': 0}|dictsort }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }}",
    "{{ words|unique|list }} {{ words|unique(case_sensitive=true)|list }} {{ people|unique(attribute='age')|map(attribute='name')|list }} {{ [1, 1.0, true, 2]|unique|list }}",
    "{{ l|reverse|list }} {{ s|reverse }} {{ d|reverse|list }} {{ missing|reverse|list }} {{ (l|map('string'))|reverse }}",
    "{{ l|list }} {{ s|list }} {{ d|list }} {{ missing|list }} {{ (1, 2)|list }}",
    "{{ d|items|list }} {{ missing|items|list }} {% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}",
    "{% for k, v in l|items %}{% endfor %}",
    "{{ l|map('string')|join('-') }} {{ people|map(attribute='role')|list }} {{ people|map(attribute='role', default='none')|list }} {{ nested|map(attribute='x')|list }}",
    "{{ l|map('string')|length }}",
    "{{ l|map('string')|tojson }}",
    "{{ people|selectattr('role')|map(attribute='name')|list }} {{ people|rejectattr('role')|map(attribute='name')|list }}",
    "{{ people|selectattr('role', 'equalto', 'admin')|map(attribute='name')|list }} {{ people|selectattr('role', 'defined')|list|length }} {{ people|selectattr('role', 'none')|list|length }}",
    "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ l|select('gt', 1)|list }} {{ l|select('in', [1, 3])|list }}",
    "{{ nothing|selectattr('x')|list }} {{ nothing|map('upper')|list }} {{ 0|select|list }} {{ missing|selectattr('a')|list }}",
    "{{ l|sum }} {{ people|sum(attribute='age') }} {{ [0.5, 1]|sum(start=10) }} {{ l|max }} {{ l|min }} {{ words|max }} {{ words|min }} {{ people|max(attribute='age')|attr('get') is defined }}",
    "{{ people|min(attribute='name') }} {{ el|max }}|{{ l|batch(2)|list }} {{ l|batch(2, 'x')|list }}",
    "{{ l|length }} {{ d|length }} {{ el|count }} {{ missing|length }} {{ (1, 2)|length }}",
    "{{ 5|length }}",
    "{{ d|attr('items') is defined }} {{ d|attr('a') }}|{{ s|attr('upper') is callable }}",
    // tojson
    "{{ d|tojson }} {{ l|tojson }} {{ u|tojson }} {{ html|tojson }} {{ nothing|tojson }} {{ t|tojson }} {{ 'a\\u0001\\t'|tojson }}",
    "{{ nested|tojson(indent=2) }}|{{ people[0]|tojson(indent=4) }}|{{ el|tojson(indent=2) }}|{{ ed|tojson(indent=2) }}",
    "{{ d|tojson(sort_keys=true) }} {{ u|tojson(ensure_ascii=true) }} {{ d|tojson(separators=(',', ':')) }} {{ l|tojson(indent='\\t') }}",
    "{{ {1: 'a', none: 'b', true: 'c', 2.5: 'd'}|tojson }} {{ (1, 2)|tojson }} {{ schema|tojson }}",
    "{{ missing|tojson }}",
    "{{ namespace(a=1)|tojson }}",
    // tests
    "{{ n is defined }} {{ missing is defined }} {{ missing is undefined }} {{ nothing is none }} {{ n is number }} {{ f is float }} {{ n is integer }} {{ t is integer }}",
    "{{ s is string }} {{ d is mapping }} {{ l is iterable }} {{ s is iterable }} {{ n is iterable }} {{ missing is iterable }} {{ l is sequence }} {{ d is sequence }} {{ missing is sequence }}",
    "{{ t is boolean }} {{ t is true }} {{ false is false }} {{ 1 is true }} {{ n is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 3.0 is odd }}",
    "{{ s is equalto 'Hello World' }} {{ n is eq 5 }} {{ n is ne 5 }} {{ n is lt 6 }} {{ n is gt 6 }} {{ n is ge 5 }} {{ n is le 4 }} {{ n is == 5 }} {{ n is in [5] }}",
    "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ '123' is lower }} {{ s.upper is callable }} {{ l is callable }} {{ range is callable }}",
    "{{ nothing is sameas none }} {{ n is sameas 5 }} {{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ html|e is escaped }} {{ html is escaped }}",
    "{{ n is not none }} {{ not n is none }} {{ missing is not defined and true }} {{ l is not string }}",
    "{{ missing is odd }}",
    // str methods
    "{{ ws.strip() }}|{{ ws.lstrip() }}|{{ ws.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ s.split() }} {{ s.split('o') }} {{ 'a,b,,c'.split(',', 1) }} {{ ' a  b '.split(None, 1) }}",
    "{{ 'a b c'.rsplit(' ', 1) }} {{ '  a b c  '.rsplit(None, 1) }} {{ lines.splitlines() }} {{ lines.splitlines(true) }} {{ s.split('</think>')[-1] }}",
    "{{ ''.split(',') }} {{ ''.split() }}",
    "{{ s.split('') }}",
    "{{ s.startswith('He') }} {{ s.endswith(('x', 'ld')) }} {{ s.startswith('World', 6) }} {{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('z') }} {{ u.find('\u65e5') }} {{ s.count('l') }}",
    "{{ s.index('W') }} {{ s.upper() }} {{ s.lower() }} {{ s.swapcase() }} {{ 'ß'.upper() }} {{ u.upper() }} {{ u.lower() }} {{ 'ǅ'.lower() }}",
    "{{ s.replace('l', 'L') }} {{ s.replace('l', 'L', 1) }} {{ ', '.join(['a', 'b']) }} {{ '-'.join(s[:3]) }} {{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }}",
    "{{ ', '.join([1, 2]) }}",
    "{{ 'abc'.removeprefix('a') }} {{ 'abc'.removesuffix('c') }} {{ '42'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} {{ 'Ab'.isupper() }} {{ 'Hello World'.istitle() }}",
    "{{ s.index('z') }}",
    // lists and dicts
    "{{ l.count(1) }} {{ l.index(2) }} {{ (1, 2, 1).count(1) }} {{ l.copy() }} {{ d.copy() }} {{ [1, 2] == [1, 2] }} {{ [1] == (1,) }} {{ {'a': 1} == {'a': 1.0} }}",
    "{{ {'a': 1, 'b': 2}['b'] }} {{ {'a': 1, 'a': 2} }} {{ dict(a=1, b='x') }} {{ dict([('k', 'v')]) }} {{ dict({'a': 1}, b=2) }} {{ {1: 'int', 1.0: 'float'} }}",
    "{{ {[1]: 2} }}",
    // control structures
    "{% for x in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.depth }} {% endfor %}",
    "{% for x in l %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for x in l if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% else %}none{% endfor %}",
    "{% for x in el %}{{ x }}{% else %}empty{% endfor %}|{% for x in l if x > 10 %}{{ x }}{% else %}filtered out{% endfor %}|{% for c in missing %}x{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% for c in u %}[{{ c }}]{% endfor %}",
    "{% for a, b in [(1, 2), [3, 4], 'xy'] %}{{ a }}{{ b }};{% endfor %}",
    "{% for a, b in [(1, 2, 3)] %}{{ a }}{% endfor %}",
    "{% for x in nothing %}{{ x }}{% endfor %}",
    "{% for x in n %}{{ x }}{% endfor %}",
    "{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for x in l %}{% for y in l %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}",
    "{% for x in l %}{% set outer = loop %}{% for y in [1] %}{{ outer.index }}{% endfor %}{% endfor %}",
    "{% for x in l %}{{ loop.changed(x > 1) }} {% endfor %}",
    "{% if n > 10 %}big{% elif n > 3 %}mid{% elif n > 1 %}small{% else %}tiny{% endif %}|{% if nothing %}x{% else %}y{% endif %}|{% if missing %}x{% endif %}",
    "{% set x = 1 %}{% for i in l %}{% set x = i %}{{ x }}{% endfor %}{{ x }}|{% if true %}{% set y = 2 %}{% endif %}{{ y }}",
    "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, d2 = 'xy' %}{{ c }}{{ d2 }}{% set t1 = 1, 2 %}{{ t1 }}",
    "{% set ns = namespace(count=0, items=[]) %}{% for x in l %}{% set ns.count = ns.count + x %}{% set ns.items = ns.items + [x] %}{% endfor %}{{ ns.count }} {{ ns.items }} {{ ns }}",
    "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}",
    "{% set x = 1 %}{% set x.y = 2 %}",
    "{% set block %}  inside {{ n }}  {% endset %}[{{ block }}]{% set b2 | upper %}shout{% endset %}{{ b2 }}",
    "{% filter upper %}hello {{ s }}{% endfilter %}|{% filter trim|replace('a', 'b') %}  aaa  {% endfilter %}",
    "{% with a = 1, b = n %}{{ a + b }}{% endwith %}{{ a }}",
    "{% raw %}{{ not rendered }}{% endraw %} {% raw -%}  x  {%- endraw %}",
    "{# comment #}a{#- trimmed -#} b {#+ kept +#} c",
    // macros
    "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', 'Hi') }} {{ greet(punct='?', name='Cid') }}",
    "{% macro f(a, b) %}[{{ a }}|{{ b }}]{% endmacro %}{{ f(1) }}{{ f() }}{{ f|string|length > 0 }}",
    "{% macro f(a) %}{{ a }}{% endmacro %}{{ f(1, 2) }}",
    "{% macro f(a) %}{{ a }}{% endmacro %}{{ f(b=2) }}",
    "{% macro f() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ f(1, 2, x=3) }}",
    "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1)|int }}{% endif %}{% endmacro %}{{ fact(10) }}",
    "{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}inner {{ n }}{% endcall %}",
    "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each(l) %}[{{ x }}]{% endcall %}",
    "{% macro m() %}{{ outer_var }}{% endmacro %}{% set outer_var = 'late' %}{{ m() }}",
    "{{ undefined_macro() }}",
    "{% macro m() %}{% set inner = 1 %}{% endmacro %}{{ m() }}{{ inner is defined }}",
    // globals
    "{{ range(5)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }} {% for i in range(3) %}{{ i }}{% endfor %}",
    "{{ range(1000000) }}",
    "{{ range(0, 10, 0) }}",
    "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}{% set j = joiner('+') %}{% for x in l %}{{ j() }}{{ x }}{% endfor %}",
    "{{ raise_exception('custom failure') }}",
    "{{ strftime_now('%Y-%m-%d %H:%M %a %b %j %d') }}",
    // whitespace control
    "a  {{- ' b ' -}}  c  {{ 'd' }}  \n  {% if true %}  e  {% endif %}  \n  f",
    "<\n  {%- if true %}\n    x\n  {%- endif %}\n>",
    "line1\n    {% if true %}\n    inner\n    {% endif %}\nline2\n",
    "x {% if true %}y{% endif %}\n  z",
    "{% if true +%}\nkeep{% endif %}|  {%+ if true %}sp{% endif %}",
    "a\n\t {# c #}\nb",
    "{{ 'a' }}\n{{ 'b' }}\n\n{% set x = 1 %}\n{{ x }}\n",
    "  {%- set x = 1 -%}  \n\n  {{- x -}}  \n  ",
    "\n{%- for m in l %}\n  {{- m }}\n{%- endfor %}\n",
    "{%- for x in l -%}\n\t{{ x }}\n{%- endfor -%}",
    "a\r\nb\r\n{% if true %}\r\nc{% endif %}",
    "{{ {'__x': 1}.__x }}|{{ {'_x': 1}._x }}|{{ {'__x__': 1}.__x__ }}|{{ 'x'|attr('__class__') }}|{{ s.__class__ }}",
    "{% macro m() %}x{% endmacro %}{% call m() %}body{% endcall %}",
    "{% macro f(a, b=a) %}{{ b }}{% endmacro %}{{ f(1) }} {% macro g() %}{% endmacro %}{{ g }}",
    "{% for x in [1, 2] if loop is defined %}{{ x }}{% endfor %}|{% for x in [1] %}{{ loop|length }}{% endfor %}",
    "{% for x in [1, 2] %}{{ loop.cycle() }}{% endfor %}",
    "{% macro f() %}{{ caller is defined }}{% endmacro %}{{ f() }} {{ 'abc'|batch(2)|list }} {{ [1, 2,] }}{{ {'a': 1,} }}",
    "{{ '%.3s|%5s|%-5s|%+d|%e|%g|%c' % ('abcdef', 'r', 'l', 3, 12345.678, 0.00001, 65) }} {{ '{}'.format(none) }}",
    "{{ 1 is sameas 1 }} {{ namespace() is mapping }} {% set x %}a{% endset %}{{ x is string }} {{ {'a': {'b': 1}}|dictsort }}",
    "{% set ns = namespace(a=1) %}{{ ns.items }}|{{ cycler(1, 2).next() }}|{{ loop }}|{{ (1, 2) == [1, 2] }}",
    "{{ messages[0]['role'] }}",
    "{{ d.nope.nope }}",
    "{{ s|int }} {{ '  -12_3 '|int }} {{ '1e2'|int }} {{ '0b11'|int(base=0) }} {{ '12'|int(base=3) }}",
    "{{ [none, 1]|map('default', 'x')|list }} {{ ['a', 'B']|map('upper')|list }} {{ people|map(attribute='name')|map('lower')|unique|list }}",
    "{{ l|map('int')|sum }} {{ [[1, 2], [3]]|map('length')|list }} {{ [[1], []]|select|list }} {{ l|select('==', 1)|list }}",
    "{{ d|items|map('first')|list }} {{ d|dictsort|map('last')|list }} {{ words|sort|join }} {{ words|sort(case_sensitive=true)|join }}",
    "{% for k, v in d|dictsort(by='value') %}{{ k }}{% endfor %} {% for x in l|sort(reverse=true) %}{{ x }}{% endfor %}",
    "{{ 'Hello'.lower().upper()[1:].strip('L') }} {{ ('a,b'.split(','))|join('+') }} {{ 'a b'.split(' ')[-1] }} {{ s.replace(' ', '')|length }}",
    "{{ people[0]|tojson }} {{ people|tojson(indent=1) }}",
    "{{ people|map(attribute='age')|list|tojson }} {{ people|selectattr('age', 'gt', 28)|map(attribute='name')|join }}",
    "{%- for p in people -%}{{ p.name }}{% if not loop.last %}, {% endif %}{%- endfor %}",
    "{% for p in people %}{% if p.role is defined and p.role %}{{ p.role|capitalize }}{% else %}-{% endif %}{% endfor %}",
    // Jinja2 errors that must stay errors
    "{% if %}x{% endif %}",
    "{% for x in l %}",
    "{% endfor %}",
    "{{ }}",
    "{{ 1 + }}",
    "{% unknown_tag %}",
    "{% break %}",
    "{{ 'unterminated }}",
    "{{ (1, 2 }}",
    "{# never closed",
    "{% macro m(a=1, b) %}{% endmacro %}",
    "{{ x is is defined }}",
};

Value context() {
  auto v = value_from_json(kContext);
  CHECK(v.ok(), "{}", v.status().to_string());
  return *v;
}

TEST(ChatTemplateConformance, SnippetsMatchJinja2) {
  const Value ctx = context();
  std::vector<testing::ReferenceCase> cases;
  for (const char* snippet : kSnippets) {
    testing::ReferenceCase c;
    c.source = snippet;
    for (const auto& [k, v] : ctx.dict().entries()) c.context.emplace_back(k.str(), v);
    cases.push_back(std::move(c));
  }
  std::string why;
  const auto run = testing::run_jinja_reference(cases, &why);
  if (!run) GTEST_SKIP() << "Jinja2 reference unavailable: " << why;
  int matched = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const testing::ReferenceResult& want = run->results[i];
    ChatInput input;
    input.extra = cases[i].context;
    input.now = testing::fixed_now();
    auto t = ChatTemplate::parse(cases[i].source);
    Result<std::string> got = t.ok() ? t->render(input) : Result<std::string>(t.status());
    if (want.ok) {
      if (!got.ok()) {
        ADD_FAILURE() << "template: " << cases[i].source << "\n  jinja2: " << want.output << "\n  ours failed: " << got.status().to_string();
      } else if (*got != want.output) {
        ADD_FAILURE() << "template: " << cases[i].source << "\n  jinja2: " << want.output << "\n  ours:   " << *got;
      } else {
        ++matched;
      }
    } else if (got.ok()) {
      ADD_FAILURE() << "template: " << cases[i].source << "\n  jinja2 failed: " << want.error << "\n  ours:   " << *got;
    } else {
      ++matched;
    }
  }
  std::printf("%d of %zu snippets match Jinja2 %s\n", matched, cases.size(), run->jinja2_version.c_str());
}

}  // namespace
}  // namespace parley::chat
