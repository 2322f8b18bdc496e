"""Reading YAML: values, the line of every path, and what is refused (with where and why)."""

import pytest

from sim.errors import InputError, Problem
from sim.scenario.yamlio import MAX_BYTES, MAX_DEPTH, MAX_NODES, format_path, load_yaml, parse_yaml

NESTED = """\
name: Tiny
compartments:
  module:
    volume: 20 m^3
    atmosphere:
      O2: 21 kPa
hatches:
  module-tunnel:
    between:
      - module
      - tunnel
crew:
  - {id: cdr, at: module}
  - id: fe1
    at: tunnel
"""


def problems(text, name="f.yaml"):
    with pytest.raises(InputError) as info:
        parse_yaml(text, name)
    return info.value.problems


def test_lines_of_nested_keys_and_list_items():
    doc = parse_yaml(NESTED, "f.yaml")
    assert doc.lines[("name",)] == 1
    assert doc.lines[("compartments", "module", "volume")] == 4
    assert doc.lines[("compartments", "module", "atmosphere", "O2")] == 6
    assert doc.lines[("hatches", "module-tunnel", "between", 0)] == 10
    assert doc.lines[("hatches", "module-tunnel", "between", 1)] == 11
    assert doc.lines[("crew", 0)] == 13
    assert doc.lines[("crew", 0, "at")] == 13
    assert doc.lines[("crew", 1)] == 14
    assert doc.lines[("crew", 1, "at")] == 15


def test_line_of_a_missing_path_is_its_nearest_ancestor():
    doc = parse_yaml(NESTED, "f.yaml")
    assert doc.line_of(("crew", 1, "roles")) == 14
    assert doc.line_of(("nowhere", "at", "all")) == 1
    assert doc.problem(("crew", 1, "roles"), "x") == Problem("f.yaml", 14, "crew[1].roles", "x")


def test_format_path():
    assert format_path(("hatches", "zvezda-prk", "between", 1)) == "hatches.zvezda-prk.between[1]"
    assert format_path(("crew", 0, "at")) == "crew[0].at"
    assert format_path(()) == ""


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-3", 0.001), ("2E5", 200_000.0), ("-1.5e+2", -150.0), (".5", 0.5), ("3", 3), ("0x10", 16),
     ("'1e-3'", "1e-3"), ("!!str 1e-3", "1e-3"), ("!!str 5", "5"), ("1e-3 m^3", "1e-3 m^3"),
     ("true", True), ("null", None), ("2026-06-05", "2026-06-05"), (".inf", float("inf"))],
)
def test_scalars_are_read_as_yaml_1_2_floats_and_plain_values(text, value):
    assert parse_yaml(f"v: {text}\n").data["v"] == value


def test_keys_that_look_like_numbers_stay_names():
    assert parse_yaml("1e3: a\nyes: b\n1.5: c\n").data == {"1e3": "a", "yes": "b", "1.5": "c"}


def test_byte_order_mark_is_ignored():
    assert parse_yaml("\ufeffa: 1\n".encode()).data == {"a": 1}


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "a", "duplicated key 'a' (first at line 1)"),
        ("a:\n  b: 1\n  c: 2\n  b: 3\n", 4, "a.b", "duplicated key 'b' (first at line 2)"),
        ("l:\n  - {x: 1, x: 2}\n", 2, "l[0].x", "duplicated key 'x' (first at line 2)"),
    ],
)
def test_duplicated_keys(text, line, path, message):
    assert problems(text) == [Problem("f.yaml", line, path, message)]


def test_every_duplicated_key_is_reported():
    found = problems("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n")
    assert [(p.line, p.path) for p in found] == [(2, "a"), (5, "b.c")]


def test_alias_bomb_is_refused():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (problem,) = problems("\n".join(levels) + "\n")
    assert problem.message == f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)"


def test_a_few_aliases_are_fine():
    doc = parse_yaml("base: &b {volume: 5 m^3}\nother: *b\n")
    assert doc.data["other"] == {"volume": "5 m^3"}


def test_nesting_up_to_the_limit_is_accepted_and_one_deeper_refused():
    ok = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    parse_yaml(ok)
    deep = "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    (problem,) = problems(deep)
    assert problem.message == f"nesting deeper than {MAX_DEPTH} levels"
    assert problem.line == 1


def test_nesting_that_would_exhaust_the_parser_is_refused():
    (problem,) = problems("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problem.message == f"nesting deeper than {MAX_DEPTH} levels"


def test_recursive_alias_is_refused():
    assert problems("a: &a [*a]\n")


@pytest.mark.parametrize(
    ("text", "line", "path", "message"),
    [
        ("a: !!python/object:os.system {}\n", 1, "a", "unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'"),
        ("a: !!python/name:os.system\n", 1, "a", "unsupported YAML tag 'tag:yaml.org,2002:python/name:os.system'"),
        ("a:\n  b: !!binary aGVsbG8=\n", 2, "a.b", "unsupported YAML tag 'tag:yaml.org,2002:binary'"),
        ("a: !!set {x, y}\n", 1, "a", "unsupported YAML tag 'tag:yaml.org,2002:set'"),
        ("a: !custom [1]\n", 1, "a", "unsupported YAML tag '!custom'"),
        ("a: &b {x: 1}\nc: {<<: *b}\n", 2, "c", "YAML merge keys ('<<') are not supported; write the keys out"),
        ("[a]: 1\n", 1, "", "a mapping key must be a plain name, not a list or mapping"),
    ],
)
def test_refused_constructs(text, line, path, message):
    assert problems(text) == [Problem("f.yaml", line, path, message)]


@pytest.mark.parametrize(
    ("raw", "line", "message"),
    [
        (b"a: 1\nb: caf\xe9\n", 2, "not UTF-8 text (byte 0xe9); save the file as UTF-8"),
        (b"a: 1\n\x00\x01\x02", 0, "binary data (a NUL byte), expected YAML text"),
        (b"", 1, "the file is empty, expected a YAML mapping"),
        (b"# only a comment\n\n", 1, "the file is empty, expected a YAML mapping"),
        (b"a: 1\n---\nb: 2\n", 3, "more than one YAML document ('---'); expected one"),
        (b"a: [1, 2\n", 2, "YAML syntax error: expected ',' or ']', but got '<stream end>'"),
        (b"a:\n\tb: 1\n", 2, "YAML syntax error: found character '\\t' that cannot start any token"),
    ],
)
def test_refused_bytes(raw, line, message):
    assert problems(raw) == [Problem("f.yaml", line, "", message)]


def test_load_yaml_names_the_file_as_given(write_yaml, tmp_path, monkeypatch):
    write_yaml("sub/s.yaml", "a: 1\na: 2\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        load_yaml("sub/s.yaml")
    assert str(info.value) == "sub/s.yaml:2: a: duplicated key 'a' (first at line 1)"
    doc = load_yaml(write_yaml("ok.yaml", "a: 1\n"), display="shown.yaml")
    assert doc.file == "shown.yaml" and doc.path == (tmp_path / "ok.yaml").resolve()


def test_load_yaml_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match=r"nowhere\.yaml: no such file$"):
        load_yaml(tmp_path / "nowhere.yaml")
    with pytest.raises(InputError, match=r"is a directory, expected a YAML file$"):
        load_yaml(tmp_path)


def test_file_larger_than_the_limit_is_refused_before_parsing(write_yaml):
    path = write_yaml("big.yaml", b"#" * (MAX_BYTES + 1))
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert str(info.value) == f"{path}: file is {MAX_BYTES + 1:,} bytes, larger than the {MAX_BYTES:,} accepted"
