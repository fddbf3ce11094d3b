#!/usr/bin/python3
"""Reads efficientad's results in Python through GObject introspection (GstAnomaly-1.0).

Usage, from a build tree (an installed copy needs none of the variables):

    GST_PLUGIN_PATH=build/gst GI_TYPELIB_PATH=build/gst LD_LIBRARY_PATH=build/gst \\
        /usr/bin/python3 examples/read_scores.py MODEL [VIDEO]

Without VIDEO it analyses 10 frames of videotestsrc. Prints one line per analysed frame (with its defect regions)
and the alarm messages.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstAnomaly", "1.0")
from gi.repository import Gst, GstAnomaly  # noqa: E402


def on_buffer(pad, info):
    meta = GstAnomaly.buffer_get_anomaly_meta(info.get_buffer())
    if meta is not None:
        r = meta.rect
        regions = f"regions {meta.n_regions}"
        if meta.n_regions > 0:  # the largest first
            largest = meta.get_region(0)
            b = largest.box
            regions += f" largest {b.w}x{b.h}+{b.x}+{b.y} area {largest.area} peak {largest.peak:.3f}"
        print(f"frame {meta.frame_number}: score {meta.score:.4f} threshold {meta.threshold:.4f} "
              f"{'ANOMALY' if meta.anomalous else 'ok'} map {meta.map_width}x{meta.map_height} "
              f"over {r.w}x{r.h}+{r.x}+{r.y} hottest {max(GstAnomaly.AnomalyMeta.get_map(meta)):.4f} {regions}",
              flush=True)
    return Gst.PadProbeReturn.OK


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    Gst.init(None)
    source = f'filesrc location="{argv[2]}" ! decodebin' if len(argv) == 3 else "videotestsrc num-buffers=10"
    pipeline = Gst.parse_launch(f'{source} ! videoconvert ! efficientad name=detector model-file="{argv[1]}" '
                                "post-messages=edges ! fakesink")
    pipeline.get_by_name("detector").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_buffer)
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    status = 0
    while True:
        message = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                         Gst.MessageType.EOS | Gst.MessageType.ERROR | Gst.MessageType.ELEMENT)
        if message.type == Gst.MessageType.ELEMENT and message.get_structure().get_name() == "anomaly":
            s = message.get_structure()
            print(f"alarm {s.get_string('event')} at frame {s.get_uint64('frame')[1]}", flush=True)
        elif message.type == Gst.MessageType.ERROR:
            error, _ = message.parse_error()
            print(f"error: {error.message}", file=sys.stderr)
            status = 1
            break
        elif message.type == Gst.MessageType.EOS:
            break
    pipeline.set_state(Gst.State.NULL)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
