"""Protocol-level tests of the Petrel kernel with real Jupyter clients (jupyter_client,
nbclient): what Jupyter's conformance suite does not cover.

Run by test/jupyter/protocol.test.ts with the kernelspec installed in a temporary
prefix (JUPYTER_PATH) and PETREL_NOTEBOOK_DIR, a folder with no node_modules, as
the kernel's working directory.
"""

import os
import queue
import re
import statistics
import sys
import time
import unittest

import warnings

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = os.environ["PETREL_NOTEBOOK_DIR"]
# nbformat warns about cells without ids in notebooks written by older tools; not our concern here.
warnings.filterwarnings("ignore", module="nbformat")
TIMEOUT = 60
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def start_kernel():
    return start_new_kernel(kernel_name="petrel", cwd=NOTEBOOK_DIR, startup_timeout=TIMEOUT)


def collect(kc, msg_id, timeout=TIMEOUT):
    """Every iopub message of one request up to its idle, then its shell reply."""
    outputs = []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        outputs.append(msg)
    return reply_of(kc, msg_id, timeout), outputs


def reply_of(kc, msg_id, timeout=TIMEOUT):
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def execute(kc, code, timeout=TIMEOUT, **options):
    return collect(kc, kc.execute(code, **options), timeout)


def stdout_of(outputs):
    return "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")


def result_of(outputs):
    results = [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]
    return results[-1] if results else None


def traceback_of(reply):
    return ANSI.sub("", "\n".join(reply.get("traceback", [])))


class KernelProtocolTests(unittest.TestCase):
    """One kernel for the tests that leave it usable."""

    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        cls.km, cls.kc = start_kernel()
        cls.start_seconds = time.monotonic() - started

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def test_kernel_info_reports_real_versions(self):
        info = self.kc.kernel_info(reply=True, timeout=TIMEOUT)["content"]
        self.assertEqual(info["status"], "ok")
        self.assertEqual(info["implementation"], "petrel")
        self.assertEqual(info["protocol_version"], "5.3")
        lang = info["language_info"]
        self.assertEqual((lang["name"], lang["file_extension"], lang["mimetype"]), ("typescript", ".ts", "text/typescript"))
        self.assertEqual(lang["version"], os.environ["PETREL_TYPESCRIPT_VERSION"])
        self.assertIn(f"Node.js {os.environ['PETREL_NODE_VERSION']}", info["banner"])

    def test_comm_info_reply_has_its_own_type(self):
        msg_id = self.kc.comm_info()
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"], {"status": "ok", "comms": {}})

    def test_1000_and_10000_line_outputs_arrive_whole_and_the_kernel_goes_idle(self):
        for n in (1000, 10000):
            reply, outputs = execute(self.kc, f'for (let i = 0; i < {n}; i++) console.log("line " + i);')
            self.assertEqual(reply["status"], "ok")
            self.assertEqual(stdout_of(outputs).splitlines(), [f"line {i}" for i in range(n)])

    def test_output_written_across_awaits_arrives_whole_and_in_order(self):
        code = "for (let i = 0; i < 1000; i++) { console.log(i); if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1)); }"
        reply, outputs = execute(self.kc, code)
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(stdout_of(outputs).splitlines(), [str(i) for i in range(1000)])

    def test_stream_display_and_result_keep_the_order_the_code_produced(self):
        reply, outputs = execute(self.kc, 'console.log("first"); display.text("second"); console.log("third"); "fourth"')
        self.assertEqual(reply["status"], "ok")
        kinds = [m["msg_type"] for m in outputs if m["msg_type"] != "execute_input"]
        self.assertEqual(kinds, ["stream", "display_data", "stream", "execute_result"])

    def test_a_display_is_updated_in_place_by_its_id(self):
        reply, outputs = execute(self.kc, 'const h = display.text("one"); h.text("two"); display.update(h.id, 3);')
        self.assertEqual(reply["status"], "ok")
        shown = [m for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
        self.assertEqual([m["msg_type"] for m in shown], ["display_data", "update_display_data", "update_display_data"])
        ids = {m["content"]["transient"]["display_id"] for m in shown}
        self.assertEqual(len(ids), 1)
        self.assertEqual(shown[-1]["content"]["data"]["text/plain"], "3")

    def test_declarations_persist_across_cells(self):
        self.assertEqual(execute(self.kc, "const persisted = 20; function twice(n: number) { return 2 * n; }")[0]["status"], "ok")
        reply, outputs = execute(self.kc, "twice(persisted) + 2")
        self.assertEqual(result_of(outputs), "42")

    def test_a_task_cache_version_follows_a_helper_redefined_in_a_later_cell(self):
        version = 'console.log(%s.spec.cache.version, %s.spec.cache.versionSource)'
        define = 'const %s = task({ name: "cv", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: true }, ({ x }) => ({ y: cvHelper(x) }));\n'
        execute(self.kc, 'import { task, t } from "petrel";\nfunction cvHelper(x: number) { return x + 1; }')
        _, first = execute(self.kc, define % "cvA" + version % ("cvA", "cvA"))
        execute(self.kc, "function cvHelper(x: number) { return x + 2; }")
        _, second = execute(self.kc, define % "cvB" + version % ("cvB", "cvB"))
        a, b = stdout_of(first).split(), stdout_of(second).split()
        self.assertEqual((a[1], b[1]), ("code-closure", "code-closure"))
        self.assertNotEqual(a[0], b[0])

    def test_node_types_are_found_outside_the_install_folder(self):
        # The notebook folder has no node_modules: console, process and node:fs must type-check.
        reply, outputs = execute(self.kc, 'import { existsSync } from "node:fs";\nconsole.log(typeof process.versions.node, existsSync("."));')
        self.assertEqual(reply["status"], "ok", traceback_of(reply))
        self.assertEqual(stdout_of(outputs), "string true\n")

    def test_a_type_error_points_at_its_line(self):
        reply, _ = execute(self.kc, "const a = 1;\nconst b: string = a;\n")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "CompileError")
        self.assertIn("line 2", reply["evalue"])
        tb = traceback_of(reply)
        self.assertRegex(tb, r"cell \[\d+\], line 2, column 7: Type 'number' is not assignable to type 'string'")
        self.assertIn("2 | const b: string = a;", tb)

    def test_a_syntax_error_points_at_its_line(self):
        reply, _ = execute(self.kc, "const ok = 1;\n\nlet = ;\n")
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "SyntaxError")
        self.assertIn("line 3", reply["evalue"])

    def test_a_runtime_error_shows_the_users_own_stack(self):
        code = "function inner(): never {\n  throw new RangeError('deep');\n}\nfunction outer() { inner(); }\nouter();"
        reply, outputs = execute(self.kc, code)
        self.assertEqual((reply["status"], reply["ename"], reply["evalue"]), ("error", "RangeError", "deep"))
        tb = traceback_of(reply)
        self.assertRegex(tb, r"at inner \(cell \[\d+\]:2:9\)")
        self.assertRegex(tb, r"at outer \(cell \[\d+\]:4:")
        for hidden in ("tslab", "/dist/kernel/", "node:internal", "evalmachine"):
            self.assertNotIn(hidden, tb)
        errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
        self.assertEqual(errors[0]["traceback"], reply["traceback"])

    def test_an_unknown_magic_lists_the_magics_that_exist(self):
        reply, _ = execute(self.kc, "%timeit 1 + 1")
        self.assertEqual(reply["ename"], "UsageError")
        self.assertIn("%timeit", reply["evalue"])
        self.assertIn("%petrel run <workflow> [json inputs]", reply["evalue"])
        self.assertIn("%petrel bundle <names...>", reply["evalue"])

    def test_stop_on_error_aborts_only_requests_already_queued(self):
        failing = self.kc.execute('await new Promise((r) => setTimeout(r, 300)); throw new Error("first fails");')
        queued = [self.kc.execute(f"{i} + 1") for i in range(3)]
        self.assertEqual(reply_of(self.kc, failing)["status"], "error")
        self.assertEqual([reply_of(self.kc, q)["status"] for q in queued], ["aborted"] * 3)
        # Sent after the failure's reply: never aborted, however soon.
        failing = self.kc.execute('throw new Error("fails at once");')
        self.assertEqual(reply_of(self.kc, failing)["status"], "error")
        after = self.kc.execute("40 + 2")
        self.assertEqual(reply_of(self.kc, after)["status"], "ok")

    def test_without_stop_on_error_queued_requests_run(self):
        failing = self.kc.execute('await new Promise((r) => setTimeout(r, 200)); throw new Error("fails");', stop_on_error=False)
        queued = self.kc.execute("1 + 1")
        self.assertEqual(reply_of(self.kc, failing)["status"], "error")
        self.assertEqual(reply_of(self.kc, queued)["status"], "ok")

    def test_400_cells_in_a_row(self):
        started = time.monotonic()
        durations = []
        for i in range(400):
            t = time.monotonic()
            reply, outputs = execute(self.kc, f"const cell{i} = {i};\ncell{i} + 1" if i % 4 == 0 else f"{i} + 1")
            durations.append(time.monotonic() - t)
            self.assertEqual(reply["status"], "ok", traceback_of(reply))
            self.assertEqual(result_of(outputs), str(i + 1))
        median_ms = statistics.median(durations) * 1000
        print(f"\nfigures: kernel start {self.start_seconds:.2f} s; 400 cells in {time.monotonic() - started:.1f} s, "
              f"median {median_ms:.1f} ms per cell (round trip)", file=sys.stderr)


class InterruptTests(unittest.TestCase):
    """One kernel, interrupted again and again: it must keep `kept` throughout (the restart test runs last)."""

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_kernel()
        reply, _ = execute(cls.kc, "const kept = 41;")
        assert reply["status"] == "ok", reply

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    def interrupt(self, code):
        msg_id = self.kc.execute(code)
        time.sleep(1.0)
        self.km.interrupt_kernel()
        return reply_of(self.kc, msg_id, timeout=20)

    def test_interrupting_a_synchronous_loop_keeps_earlier_declarations(self):
        reply = self.interrupt("while (true) {}")
        self.assertEqual((reply["status"], reply["ename"]), ("error", "Interrupted"))
        reply, outputs = execute(self.kc, "kept + 1")
        self.assertEqual(result_of(outputs), "42")

    def test_interrupting_a_long_await_keeps_earlier_declarations(self):
        reply = self.interrupt("await new Promise(() => {});")
        self.assertEqual((reply["status"], reply["ename"]), ("error", "Interrupted"))
        reply, outputs = execute(self.kc, "kept + 1")
        self.assertEqual(result_of(outputs), "42")

    def test_an_interrupt_request_on_control_interrupts_an_await(self):
        msg_id = self.kc.execute("await new Promise(() => {});")
        time.sleep(1.0)
        self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))
        self.assertEqual(reply_of(self.kc, msg_id, timeout=20)["ename"], "Interrupted")

    def test_a_signal_while_idle_is_dropped_and_the_next_cell_runs(self):
        self.km.interrupt_kernel()
        time.sleep(0.3)
        reply, outputs = execute(self.kc, "await new Promise((done) => setTimeout(done, 100)); kept + 1")
        self.assertEqual(reply["status"], "ok", traceback_of(reply))
        self.assertEqual(result_of(outputs), "42")

    def test_interrupts_still_work_while_a_cell_listens_to_sigint_and_after_it_stops(self):
        reply, _ = execute(self.kc, "let heard = 0;\nconst onInt = () => { heard++; };\nprocess.on(\"SIGINT\", onInt);")
        self.assertEqual(reply["status"], "ok", traceback_of(reply))
        for code in ["while (true) {}", "await new Promise(() => {});"]:
            self.assertEqual(self.interrupt(code)["ename"], "Interrupted", code)
        _, outputs = execute(self.kc, "heard > 0")
        self.assertEqual(result_of(outputs), "true")
        # After an await: around a cell's synchronous start, Node's vm puts back the
        # SIGINT listeners it found, so a listener removed there stays.
        reply, _ = execute(self.kc, "await null;\nprocess.off(\"SIGINT\", onInt);")
        self.assertEqual(reply["status"], "ok", traceback_of(reply))
        # Listening and stopping within the interrupted cell (which leaves SIGINT to its
        # default action, the end of the process), then in cells of their own.
        within = "process.on(\"SIGINT\", onInt); process.off(\"SIGINT\", onInt);\n"
        for code in [within + "await new Promise(() => {});", "while (true) {}", within + "await new Promise(() => {});", "await new Promise(() => {});", "while (true) {}"]:
            self.assertEqual(self.interrupt(code)["ename"], "Interrupted", code)
        self.km.interrupt_kernel()
        time.sleep(0.3)
        _, outputs = execute(self.kc, "kept + 1")
        self.assertEqual(result_of(outputs), "42")

    def test_interrupting_a_local_run_stops_waiting_for_its_tasks(self):
        reply, _ = execute(self.kc, 'import { task } from "petrel";\n'
                           'const stuck = task({ name: "stuck", inputs: {}, outputs: {} }, async () => { await new Promise(() => {}); return {}; });',
                           timeout=120)
        self.assertEqual(reply["status"], "ok", traceback_of(reply))
        reply = self.interrupt("%petrel run stuck")
        self.assertEqual((reply["status"], reply["ename"]), ("error", "Interrupted"))
        reply, outputs = execute(self.kc, "kept + 1")
        self.assertEqual(result_of(outputs), "42")

    def test_restart_gives_a_fresh_kernel(self):
        self.km.restart_kernel(now=False)
        self.kc.wait_for_ready(timeout=TIMEOUT)
        reply, _ = execute(self.kc, "kept")
        self.assertEqual(reply["status"], "error")
        self.assertIn("kept", reply["evalue"])


class HoverTests(unittest.TestCase):
    """Hovers (inspect) show the documentation of TypeScript's lib, @types/node and
    Petrel, which the kernel parses only once it is idle or a hover asks for it."""

    def hover(self, kc, code):
        reply = kc.inspect(code, len(code), reply=True, timeout=TIMEOUT)["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertTrue(reply["found"], code)
        return ANSI.sub("", reply["data"]["text/plain"])

    def test_library_docs_right_after_the_first_cell_and_once_the_kernel_was_idle(self):
        for idle_seconds in (0, 3):
            with self.subTest(idle_seconds=idle_seconds):
                km, kc = start_kernel()
                try:
                    reply, _ = execute(kc, 'import { task } from "petrel";')
                    self.assertEqual(reply["status"], "ok")
                    time.sleep(idle_seconds)
                    self.assertIn("Returns the larger of a set of supplied numeric expressions.", self.hover(kc, "Math.max"))
                    self.assertIn("current working directory of the Node.js", self.hover(kc, "process.cwd"))
                    self.assertIn("Defines a task.", self.hover(kc, "task"))
                    # Cells compile as before against the libraries parsed again.
                    reply, outputs = execute(kc, "[3, 1, 2].findLast((x) => x < 3)! + Math.max(1, 2)")
                    self.assertEqual(reply["status"], "ok")
                    self.assertEqual(result_of(outputs), "4")
                finally:
                    kc.stop_channels()
                    km.shutdown_kernel(now=False)


class PipelineTests(unittest.TestCase):
    """Petrel itself from a notebook folder with no node_modules."""

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_kernel()

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    def test_a_workflow_renders_runs_with_live_progress_and_shows_task_errors(self):
        reply, _ = execute(self.kc, """import { task, workflow, t } from "petrel";
const double = task({ name: "double", inputs: { x: t.int() }, outputs: { y: t.int() }, cache: true }, async ({ x }) => ({ y: 2 * x }));
function explode(x: number): never {
  throw new Error(`cannot take ${x}`);
}
const fragile = task({ name: "fragile", inputs: { x: t.int() }, outputs: { y: t.int() } }, async ({ x }) => explode(x));
const twice = workflow({ name: "twice", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: double({ x: double({ x }).y }).y }));
const broken = workflow({ name: "broken", inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: fragile({ x }).y }));""", timeout=120)
        self.assertEqual(reply["status"], "ok", traceback_of(reply))

        reply, outputs = execute(self.kc, "twice")
        self.assertIn("image/svg+xml", outputs[-1]["content"]["data"])
        self.assertIn("<svg", outputs[-1]["content"]["data"]["image/svg+xml"])

        reply, outputs = execute(self.kc, '%petrel run twice {"x": 5}')
        self.assertEqual(reply["status"], "ok", traceback_of(reply))
        shown = [m for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
        self.assertEqual(shown[0]["msg_type"], "display_data")
        self.assertTrue(all(m["msg_type"] == "update_display_data" for m in shown[1:]))
        self.assertEqual(len({m["content"]["transient"]["display_id"] for m in shown}), 1)
        self.assertRegex(shown[-1]["content"]["data"]["text/plain"], r"^twice SUCCEEDED in .*: 2 tasks")

        reply, outputs = execute(self.kc, "(await twice.run({ x: 5 })).outputs.y")
        self.assertEqual(result_of(outputs), "20")

        reply, _ = execute(self.kc, '%petrel run broken {"x": 7}')
        self.assertEqual(reply["status"], "error")
        tb = traceback_of(reply)
        self.assertIn("cannot take 7", tb)
        self.assertRegex(tb, r"at explode \(cell \[\d+\]:4:9\)")
        self.assertNotIn("/dist/kernel/", tb)

        reply, _ = execute(self.kc, '%petrel run twice {"x": ')
        self.assertEqual(reply["ename"], "UsageError")
        self.assertIn("not valid JSON", reply["evalue"])


class ExampleNotebookTests(unittest.TestCase):
    """Every notebook in notebooks/ runs under nbclient, the kernel started in the notebook's folder."""

    def test_every_example_notebook_runs_without_errors(self):
        folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "notebooks")
        paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".ipynb"))
        self.assertGreater(len(paths), 0)
        for path in paths:
            with self.subTest(notebook=os.path.basename(path)):
                nb = nbformat.read(path, as_version=4)
                NotebookClient(nb, kernel_name="petrel", timeout=120, resources={"metadata": {"path": folder}}).execute()
                errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o["output_type"] == "error"]
                self.assertEqual(errors, [])


class NotebookClientTests(unittest.TestCase):
    def notebook(self, *sources):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        return nb

    def test_with_allow_errors_the_cell_after_an_error_cell_runs(self):
        nb = self.notebook("const a = 1;", 'throw new Error("expected failure");', "a + 1")
        NotebookClient(nb, kernel_name="petrel", allow_errors=True, timeout=TIMEOUT, resources={"metadata": {"path": NOTEBOOK_DIR}}).execute()
        self.assertEqual(nb.cells[1].outputs[0]["output_type"], "error")
        self.assertEqual(nb.cells[2].outputs[0]["data"]["text/plain"], "2")
        self.assertEqual(nb.cells[2].execution_count, 3)

    def test_without_allow_errors_execution_stops_at_the_error(self):
        nb = self.notebook("const a = 1;", 'throw new Error("expected failure");', "a + 1")
        with self.assertRaises(CellExecutionError):
            NotebookClient(nb, kernel_name="petrel", timeout=TIMEOUT, resources={"metadata": {"path": NOTEBOOK_DIR}}).execute()
        self.assertEqual(nb.cells[2].outputs, [])


if __name__ == "__main__":
    unittest.main()
