"""Runs code cells in a tslab kernel and prints every iopub message of each cell, timed on arrival.

    JUPYTER_PATH=... /usr/bin/python3 kernel_messages.py CWD OUT.json < cells.json

cells.json is a JSON list of code strings. The output is a JSON list of records
{cell, t, type, ...}: t is seconds since the first cell was sent, measured when the message
arrived here (as a frontend would see it); display messages carry their display_id, mime types
and Plotly title. The notebooks test uses it to check that live charts update during training.
"""
import json
import sys
import time

from jupyter_client.manager import start_new_kernel

PLOTLY = "application/vnd.plotly.v1+json"


def record(cell, t, msg):
    kind = msg["msg_type"]
    content = msg["content"]
    out = {"cell": cell, "t": round(t, 3), "type": kind}
    if kind in ("display_data", "update_display_data"):
        out["display_id"] = content.get("transient", {}).get("display_id")
        out["mimes"] = sorted(content["data"].keys())
        fig = content["data"].get(PLOTLY)
        if fig:
            out["title"] = fig["layout"]["title"]["text"]
        else:
            out["text"] = str(content["data"].get("text/plain", ""))[:500]
    elif kind == "stream":
        out["text"] = content["text"][:500]
    elif kind == "error":
        out["error"] = content.get("ename", "") + ": " + content.get("evalue", "")
    elif kind == "status":
        out["state"] = content["execution_state"]
    return out


def main():
    cwd, out_file = sys.argv[1], sys.argv[2]
    cells = json.load(sys.stdin)
    km, kc = start_new_kernel(kernel_name="tslab", cwd=cwd)
    records = []
    try:
        t0 = time.monotonic()
        for i, code in enumerate(cells):
            msg_id = kc.execute(code)
            while True:
                msg = kc.get_iopub_msg(timeout=600)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                records.append(record(i, time.monotonic() - t0, msg))
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            while True:
                reply = kc.get_shell_msg(timeout=60)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            status = reply["content"].get("status", "missing: " + json.dumps(reply["content"])[:200])
            records.append({"cell": i, "t": round(time.monotonic() - t0, 3), "type": "execute_reply", "status": status})
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    # A file, not stdout: the kernel process shares this process's stdout.
    with open(out_file, "w", encoding="utf-8") as f:
        json.dump(records, f)


if __name__ == "__main__":
    main()
