"""Hostile diagram code: every attempt is refused, and nothing it aimed at happens."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

from engine.spiff.sandbox import (
    NonJsonValue,
    SandboxedScriptEngine,
    SandboxError,
    SandboxLimitError,
    SandboxLimits,
    SandboxTimeout,
    check_source,
)

COMPILE = "compile"  # refused by check_source (deploy time) and again when run


def code(*lines: str) -> str:
    return "\n".join(lines)


# (id, source, how it is stopped); MARKER is replaced by a path the code tries to create.
SCRIPTS: list[tuple[str, str, Any]] = [
    # imports and the dunder world: refused at compile time, with a line number
    ("dunder-import", "__import__('os').system('touch MARKER')", COMPILE),
    ("import", "import os\nos.system('touch MARKER')", COMPILE),
    ("from-import", "from os import path", COMPILE),
    ("import-as", "import subprocess as sp", COMPILE),
    ("class-bases", "x = ().__class__.__bases__[0].__subclasses__()", COMPILE),
    ("mro-comprehension", "x = [c for c in ().__class__.__mro__]", COMPILE),
    ("str-mro", "x = str.mro()[1]", COMPILE),
    ("format-attribute", "x = '{0.__class__}'.format(1)", COMPILE),
    ("format-map", "x = '{a.__class__}'.format_map({'a': 1})", COMPILE),
    ("class-definition", code("class A(dict):", "    def items(self):", "        return []"),
     COMPILE),
    ("generator-frame", "def g():\n    yield 1\nx = g().gi_frame.f_globals", COMPILE),
    ("genexp-code", "x = (i for i in [1]).gi_code", COMPILE),
    ("function-globals", "def f():\n    pass\nx = f.__globals__", COMPILE),
    ("lambda-code", "x = (lambda: 1).__code__", COMPILE),
    ("helper-globals", "x = today.__globals__['date']", COMPILE),
    ("builtin-self", "x = len.__self__", COMPILE),
    ("traceback-frame",
     code("try:", "    1 / 0", "except Exception as e:", "    x = e.__traceback__"), COMPILE),
    ("builtins-name", "x = __builtins__", COMPILE),
    ("rebind-guard", "_getattr_ = None", COMPILE),
    ("ljust", "x = 'a'.ljust(10**10)", COMPILE),
    ("zfill", "x = '1'.zfill(10**10)", COMPILE),
    ("encode-to-bytes", "x = 'a'.encode()", COMPILE),
    ("int-to-bytes", "x = (1).to_bytes(10**9, 'big')", COMPILE),
    ("eval", "x = eval('1')", COMPILE),
    ("exec", "exec('x = 1')", COMPILE),
    ("print", "print(secret)", COMPILE),
    ("breakpoint", "breakpoint()", COMPILE),
    ("catch-base-exception", "try:\n    pass\nexcept BaseException:\n    pass", COMPILE),
    ("catch-generator-exit",
     code("try:", "    pass", "except (ValueError, GeneratorExit):", "    pass"), COMPILE),
    ("global", "def f():\n    global secret\n    secret = 1", COMPILE),
    ("async", "async def f():\n    pass", COMPILE),
    ("with-open", "with open('MARKER', 'w') as f:\n    pass", COMPILE),
    ("slice-assignment", "L = [1]\nL[0:0] = L", COMPILE),
    # builtins that are simply not there
    ("open", "open('MARKER', 'w').write('x')", NameError),
    ("open-passwd", "x = open('/etc/passwd').read()", NameError),
    ("compile", "x = compile('1', 'f', 'eval')", NameError),
    ("globals", "x = globals()", NameError),
    ("vars", "x = vars()", NameError),
    ("dir", "x = dir()", NameError),
    ("type", "x = type(1)", NameError),
    ("getattr", "x = getattr(secret, '__class__')", NameError),
    ("setattr", "setattr(secret, 'x', 1)", NameError),
    ("object", "x = object", NameError),
    ("sys", "x = sys", NameError),
    ("string-formatter", "x = string.Formatter().vformat('{0.__class__}', [1], {})", NameError),
    ("raise-system-exit", "raise SystemExit", NameError),
    ("raise-keyboard-interrupt", "raise KeyboardInterrupt", NameError),
    ("exit", "exit()", NameError),
    ("bytearray", "x = bytearray(10**10)", NameError),
    ("memoryview", "x = memoryview(secret)", NameError),
    # unbounded time
    ("while-true", "while True:\n    pass", SandboxTimeout),
    ("try-in-loop", code("while True:", "    try:", "        pass", "    except ValueError:",
                         "        pass"), SandboxTimeout),
    ("bare-except-swallows", code("n = 0", "while True:", "    try:", "        while True:",
                                  "            n += 1", "    except:", "        n = -1"),
     SandboxTimeout),
    ("bare-except-once",
     code("try:", "    while True:", "        pass", "except:", "    caught = 1"), SandboxTimeout),
    ("finally-continue", code("while True:", "    try:", "        while True:", "            pass",
                              "    finally:", "        continue"), SandboxTimeout),
    ("finally-return", code("def f():", "    try:", "        while True:", "            pass",
                            "    finally:", "        return 1", "while True:", "    f()"),
     SandboxTimeout),
    ("growing-comprehension", "L = [1]\nx = [L.append(1) for y in L]", SandboxTimeout),
    ("endless-generator", code("def g():", "    while True:", "        yield 1", "x = sum(g())"),
     SandboxTimeout),
    ("exponential-def", code("def f(n):", "    return 1 if n == 0 else f(n - 1) + f(n - 1)",
                             "x = f(99)"), SandboxTimeout),
    ("exponential-lambda", code("f = lambda n: n and (f(n - 1) or f(n - 1))", "x = f(99)"),
     SandboxTimeout),
    ("nested-ranges", "x = sum(1 for a in range(10**6) for b in range(10**6))", SandboxTimeout),
    ("recursion-bomb", "def f(n):\n    return f(n + 1)\nf(0)", SandboxError),
    # oversized results, refused before they are built
    ("pow-tower", "x = 10**10**8", SandboxLimitError),
    ("pow-2", "x = 2**10**9", SandboxLimitError),
    ("pow-inplace", "x = 2\nx **= 10**9", SandboxLimitError),
    ("big-product", "x = 10**6000 * 10**6000", SandboxLimitError),
    ("str-repeat", "x = 'a' * 10**10", SandboxLimitError),
    ("list-repeat", "x = [0] * 10**10", SandboxLimitError),
    ("list-repeat-inplace", "x = [0]\nx *= 10**10", SandboxLimitError),
    ("item-repeat-inplace", "d = {'k': 'a'}\nd['k'] *= 10**10", SandboxLimitError),
    ("shift", "x = 1 << 10**9", SandboxLimitError),
    ("range", "x = list(range(10**12))", SandboxLimitError),
    ("printf-width", "x = '%*d' % (10**9, 1)", SandboxLimitError),
    ("printf-digits", "x = '%10000000000s' % 'a'", SandboxLimitError),
    ("fstring-width", "x = f'{secret!r:>{10**10}}'", SandboxLimitError),
    ("doubling-concat", "s = 'a' * 10**6\nwhile True:\n    s = s + s", SandboxLimitError),
    ("doubling-fstring", "s = 'a' * 10**6\nwhile True:\n    s = f'{s}{s}'", SandboxLimitError),
    ("doubling-starred", "L = [1]\nwhile True:\n    L = [*L, *L]", SandboxLimitError),
    ("doubling-extend", "L = [0] * 1000\nwhile True:\n    L.extend(L)", SandboxLimitError),
    ("join-shared", "x = ','.join(['a' * 10**6] * 1000)", SandboxLimitError),
    ("replace-empty", "x = ('a' * 10**6).replace('', 'bb')", SandboxLimitError),
    ("zip-star", "L = list(range(10**6))\nx = list(zip(*[L] * 1000))", SandboxLimitError),
    ("round-digits", "x = round(1, -10**9)", SandboxLimitError),
    ("sum-lists", "x = sum([[0] * 10**6] * 1000, [])", SandboxError),
    ("unbound-join", "x = str.join('a' * 10**6, ['b'] * 10**6)", SandboxError),
    # values that must not become task data
    ("helper-in-data", "d = today", NonJsonValue),
    ("builtin-in-data", "f = len", NonJsonValue),
    ("set", "x = {1, 2}", NonJsonValue),
    ("bytes", "x = b'abc'", COMPILE),
    ("complex", "x = 1j", NonJsonValue),
    ("generator", "g = (i for i in [1])", NonJsonValue),
    ("nan", "x = float('nan')", NonJsonValue),
    ("nested-inf", "x = {'a': [1, float('inf')]}", NonJsonValue),
]

EXPRESSIONS: list[tuple[str, str, Any]] = [
    ("expr-dunder-import", "__import__('os').getpid() > 0", COMPILE),
    ("expr-open", "len(open('/etc/hostname').read()) > 0", NameError),
    ("expr-class", "x.__class__.__name__ == 'list'", COMPILE),
    ("expr-walrus-loop", "[(t := z) for y in range(10**6) for z in range(10**6)]", SandboxTimeout),
    ("expr-set-result", "{1, 2}", NonJsonValue),
    ("expr-helper-result", "today", NonJsonValue),
]


@pytest.fixture
def tripwires(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any call that would have reached the operating system."""
    hits: list[str] = []
    for name in ("system", "getpid", "popen", "remove"):
        monkeypatch.setattr(os, name, lambda *a, _n=name, **k: hits.append(_n))
    return hits


def fake_task(data: dict[str, Any]) -> Any:
    workflow = SimpleNamespace(spec=SimpleNamespace(file="hostile.bpmn"))
    workflow.top_workflow = workflow
    spec = SimpleNamespace(bpmn_id="hostile", bpmn_name="Hostile")
    return SimpleNamespace(data=data, task_spec=spec, workflow=workflow)


ENGINE = SandboxedScriptEngine(SandboxLimits(condition_seconds=0.2, script_seconds=0.2))


def within(seconds: float, func: Callable[..., Any], *args: Any) -> Any:
    """Run ``func`` in a worker thread; fail (instead of hanging) if it is not stopped."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = func(*args)
        except BaseException as exc:  # handed back to the test thread
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"the code was not stopped within {seconds} s")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def attempt(mode: str, source: str, expected: Any, tmp_path: Any, tripwires: list[str]) -> None:
    marker = tmp_path / "pwned"
    source = source.replace("MARKER", str(marker))
    data = {"secret": {"token": ["s3cr3t"]}, "x": [1, 2, 3]}
    task = fake_task(data)
    problem = check_source(source, "exec" if mode == "exec" else "eval")
    assert (problem is not None) == (expected is COMPILE), problem
    run = ENGINE.execute if mode == "exec" else ENGINE.evaluate
    with pytest.raises(WorkflowTaskException) as caught:
        within(10, run, task, source, None)
    cause = caught.value.__cause__
    assert isinstance(cause, SandboxError if expected is COMPILE else expected), repr(cause)
    assert "out of memory" not in str(cause)  # refused up front, not after allocating
    if expected is COMPILE and mode == "exec":
        assert caught.value.line_number == problem[0]  # type: ignore[index]
    assert caught.value.task.task_spec.bpmn_id == "hostile"
    assert data == {"secret": {"token": ["s3cr3t"]}, "x": [1, 2, 3]}
    assert not marker.exists()
    assert tripwires == []


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in SCRIPTS],
                         ids=[c[0] for c in SCRIPTS])
def test_script_escape_is_blocked(source: str, expected: Any, tmp_path: Any,
                                  tripwires: list[str]) -> None:
    attempt("exec", source, expected, tmp_path, tripwires)


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in EXPRESSIONS],
                         ids=[c[0] for c in EXPRESSIONS])
def test_expression_escape_is_blocked(source: str, expected: Any, tmp_path: Any,
                                      tripwires: list[str]) -> None:
    attempt("eval", source, expected, tmp_path, tripwires)


def test_data_holding_a_module_is_not_handed_to_scripts(
    tmp_path: Any, tripwires: list[str]
) -> None:
    marker = tmp_path / "pwned"
    task = fake_task({"m": os})
    with pytest.raises(WorkflowTaskException, match="holds a module"):
        ENGINE.execute(task, f"m.system('touch {marker}')", None)
    assert not marker.exists() and tripwires == []


def test_non_json_value_names_the_path() -> None:
    task = fake_task({})
    with pytest.raises(WorkflowTaskException, match=r"x\['a'\]\[1\] is inf"):
        ENGINE.execute(task, "x = {'a': [1, float('inf')]}", None)


def test_timeout_is_not_catchable_and_keeps_firing() -> None:
    task = fake_task({"log": []})
    script = code("n = 0", "while True:", "    try:", "        while True:", "            n += 1",
                  "    except:", "        log.append(n)")
    with pytest.raises(WorkflowTaskException, match=r"time limit of 0\.2 s") as caught:
        ENGINE.execute(task, script, None)
    assert isinstance(caught.value.__cause__, SandboxTimeout)
    assert task.data == {"log": []}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_generator_finalizer_cannot_run_after_the_deadline() -> None:
    script = code("def g():", "    try:", "        yield 1", "    finally:", "        while True:",
                  "            pass", "it = g()", "for v in it:", "    break", "ok = 1")
    task = fake_task({})
    with pytest.raises(WorkflowTaskException, match="it is a generator"):
        ENGINE.execute(task, script, None)  # returns: the finalizer's loop stops at once
    assert task.data == {}


SLEEPER = code("def g():", "    try:", "        yield 1", "    finally:", "        while True:",
               "            pass")  # a generator whose cleanup never ends


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("first", "fails"),
    [
        (code(SLEEPER, "def f():", "    it = g()", "    for v in it:", "        break",
              "    return 1 / 0", "f()"), True),  # kept alive by the error's traceback
        (code(SLEEPER, "def f():", "    it = g()", "    for v in it:", "        break",
              "    box = [it]", "    box.append(box)", "f()"), False),  # kept by a cycle
    ],
    ids=["traceback", "cycle"],
)
def test_code_of_a_finished_run_cannot_eat_a_later_run(first: str, fails: bool) -> None:
    held: list[BaseException] = []

    def collect() -> None:  # the garbage collector happens to run during another script
        held.clear()
        gc.collect()

    # A generous limit: gc.collect() over a large test process can take a while by
    # itself; a finalizer that used the live tick would loop until this limit and fail.
    engine = SandboxedScriptEngine(SandboxLimits(script_seconds=3.0), helpers={"collect": collect})
    gc.disable()
    try:
        try:
            engine.execute(fake_task({}), first, None)
        except WorkflowTaskException as exc:
            held.append(exc)  # an engine keeping the error (and its traceback) around
        assert bool(held) == fails
        task = fake_task({})
        engine.execute(task, code("collect()", "n = 0", "while n < 10:", "    n += 1"), None)
    finally:
        gc.enable()
    assert task.data == {"n": 10}
