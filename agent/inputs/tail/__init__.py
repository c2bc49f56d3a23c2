"""The ``tail`` input: follow files, emit chunks, checkpoint only what was delivered.

:class:`~logtide.agent.inputs.tail.input.TailInput` builds these objects and runs the follow loop;
each is passed what it needs when it is built:

- ``options``: the option table and its cross-checks.
- ``file_table.FileTable``: the open files by (device, inode), and closed ones whose ranges
  are still in flight.
- ``discovery.Discovery``: ``Path``/``Exclude_Path`` globs, ``Ignore_Older``, rescans; opens
  files at their checkpoint (or head/end) and recovers generations rotated while down.
- ``changes.FileChanges``: truncation, rotation and deletion of open files; closes them. A
  file copied then emptied is read on from the copy ``copies.find_copy`` finds.
- ``pump.Pump``: reads a file into chunks (cut points, Mem_Buf_Limit, line counters).
- ``checkpointer.Checkpointer``: the acknowledgement gate — gives each chunk its ack, moves a
  file's checkpoint over the contiguous acknowledged prefix, writes the DB from its thread.
- ``checkpoint_db.CheckpointStore``: the checkpoint rows and their SQLite file (Fluent Bit's
  ``in_tail_files`` plus logtide's fingerprints and lineages); knows nothing of acks.
  ``rows.Row`` is one row: the offset, and the fingerprint and head that tell whether a
  file still holds the content it was read from.
- ``inflight.InFlight``: bytes emitted and not yet acknowledged, against Mem_Buf_Limit.
- ``decoder_factory.DecoderFactory``: each file's decoder, from Parser, Docker_Mode and
  multiline.parser.
- ``watcher.Watcher``: directory notifications for the follow loop, from one of two
  ``watcher.DirectoryWatch`` implementations: ``inotify.InotifyWatch`` (Linux, read on the
  event loop) or ``portable_watcher.PortableWatcher`` (watchdog); without either the poll
  tick does all the work.

Leaf pieces: ``reader`` (one open file's reads and line rules), ``decoders`` (lines to
events), ``ranges`` (one file's acknowledged prefix), ``siblings`` (where a rotated file
went), ``tagging`` (Tag and Tag_Regex).

Names: ``checkpoint_db`` is the storage (rows and SQLite, no policy); ``checkpointer`` is the
policy (when a row's offset may move, and when it is written).
"""

from logtide.agent.inputs.tail.input import TailInput

__all__ = ["TailInput"]
