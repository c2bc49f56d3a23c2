"""The ``systemd`` input: journal entries through a ``journalctl`` child, cursor kept only
over what was delivered.

- ``options``: the option table and its cross-checks (Systemd_Filter syntax).
- ``journalctl.Journalctl``: the child process (arguments, stdout blocks, stderr relayed).
- ``export.ExportParser``: export-format text into records shaped as Fluent Bit's.
- ``rounds``: a round of entries into one chunk per tag, with origins and cut points.
- ``gate.CursorGate``: the acknowledgement gate; the cursor moves over the acknowledged prefix.
- ``cursor_db.CursorStore``: the cursor row in Fluent Bit's SQLite layout.
- ``input.SystemdInput``: the plugin, which owns the read loop and restarts the child.
"""

from logtide.agent.inputs.systemd.input import SystemdInput

__all__ = ["SystemdInput"]
