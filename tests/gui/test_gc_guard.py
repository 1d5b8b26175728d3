"""Cyclic garbage holding Qt objects is collected on the main thread, never on the engine thread."""

import gc
import threading

from PySide6.QtCore import QObject


def test_automatic_collection_is_off_and_the_main_thread_collects(qtbot, qapp):
    from gui import gc_guard

    guard = gc_guard.install(qapp)
    assert not gc.isenabled()
    collected_on = []

    class Cyclic(QObject):
        def __del__(self):
            collected_on.append(threading.current_thread().name)

    for _ in range(50):
        obj = Cyclic()
        obj.me = obj  # a reference cycle: only the cyclic collector frees it
    del obj

    def allocate_on_worker():
        junk = [[i] for i in range(100_000)]  # would trigger an automatic collection here
        del junk

    worker = threading.Thread(target=allocate_on_worker, name="engine-like")
    worker.start()
    worker.join()
    assert "engine-like" not in collected_on
    keep = [[] for _ in range(gc.get_threshold()[0] + 10)]  # enough new objects for a collection
    guard.check()
    assert len(collected_on) == 50 and len(keep)
    assert set(collected_on) == {threading.current_thread().name}
