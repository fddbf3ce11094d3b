// Benchmark (meson test --benchmark, or run directly): frames per second through efficientad in a GStreamer
// pipeline versus the engine alone on the same frames, measured in the same run and interleaved; then 1-4
// pipelines in one process sharing the cores (frames/s per stream and in total); then resident memory over a long
// run through the pipeline. The model is EfficientAD-S at 256x256 with random weights (speed and
// memory do not depend on the weights), written to a temporary folder.
//   bench_pipeline [FRAMES=100] [LONG_FRAMES=2000]
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "efficientad/detector.h"
#include "fixtures.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWidth = 1280, kHeight = 720;  // a typical camera frame, converted and resized inside

double resident_mb() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// Frames not timed: a fresh element builds its int8 kernels on the first frame and its worker thread's memory
// arena and OpenMP team on the next few.
constexpr int kWarmup = 10;

// Arrival times of buffers at the sink, so that only steady-state frames are timed.
struct SinkClock {
  int arrived = 0;
  Clock::time_point warm, last;
};

GstPadProbeReturn on_sink_buffer(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* clock = static_cast<SinkClock*>(data);
  clock->last = Clock::now();
  if (++clock->arrived == kWarmup) clock->warm = clock->last;
  return GST_PAD_PROBE_OK;
}

// One appsrc ! efficientad ! fakesink pipeline, PLAYING, with a clock on its sink.
class Stream {
 public:
  explicit Stream(const char* model) {
    gchar* description = g_strdup_printf(
        "appsrc name=src format=time block=true max-buffers=4 caps=video/x-raw,format=RGB,width=%d,height=%d,framerate=30/1 "
        "! efficientad model-file=%s ! fakesink name=sink sync=false", kWidth, kHeight, model);
    pipeline_ = gst_parse_launch(description, nullptr);
    g_free(description);
    src_ = gst_bin_get_by_name(GST_BIN(pipeline_), "src");
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
    GstPad* sink_pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(sink_pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink_buffer, &clock_, nullptr);
    gst_object_unref(sink_pad);
    gst_object_unref(sink);
    // The model loads during this call (efficientad's start()), before the clock starts; waiting for the
    // asynchronous state change would wait for a preroll buffer that is not pushed yet.
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  }
  ~Stream() {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(src_);
    gst_object_unref(pipeline_);
  }

  // Pushes `count` frames after the warm-up ones, then end-of-stream; calls `every` each 500 frames.
  void feed(const std::vector<GstBuffer*>& frames, int count, void (*every)(int frame) = nullptr) {
    for (int i = 0; i < count + kWarmup; ++i) {
      GstBuffer* buffer = gst_buffer_copy(frames[size_t(i) % frames.size()]);  // shares the pixels
      GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(guint64(i), GST_SECOND, 30);
      gst_app_src_push_buffer(GST_APP_SRC(src_), buffer);
      if (every && i % 500 == 0) every(i);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src_));
  }

  // Waits for end-of-stream; returns the seconds from the warm-up frames' arrival at the sink to the last frame's.
  double finish() {
    GstBus* bus = gst_element_get_bus(pipeline_);
    GstMessage* done =
        gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (GST_MESSAGE_TYPE(done) == GST_MESSAGE_ERROR) {
      std::fprintf(stderr, "pipeline error\n");
      std::exit(1);
    }
    gst_message_unref(done);
    gst_object_unref(bus);
    return std::chrono::duration<double>(clock_.last - clock_.warm).count();
  }

 private:
  GstElement* pipeline_;
  GstElement* src_;
  SinkClock clock_;
};

double run_pipeline(const char* model, const std::vector<GstBuffer*>& frames, int count,
                    void (*every)(int frame) = nullptr) {
  Stream stream(model);
  stream.feed(frames, count, every);
  return stream.finish();
}

// `streams` pipelines in this process at once, each fed by its own thread (as cameras would); each one's
// frames per second.
std::vector<double> run_streams(const char* model, const std::vector<GstBuffer*>& frames, int count, int streams) {
  std::vector<std::unique_ptr<Stream>> running;
  for (int i = 0; i < streams; ++i) running.push_back(std::make_unique<Stream>(model));
  std::vector<std::thread> feeders;
  for (auto& stream : running) feeders.emplace_back([&, s = stream.get()] { s->feed(frames, count); });
  for (auto& feeder : feeders) feeder.join();
  std::vector<double> fps;
  for (auto& stream : running) fps.push_back(count / stream->finish());
  return fps;
}

double run_engine(efficientad::Detector& detector, const std::vector<efficientad::Image>& images, int count) {
  efficientad::MapOptions options;  // as the element: maps at the model's input resolution
  options.map_width = detector.info().geometry.input_width;
  options.map_height = detector.info().geometry.input_height;
  // The pipeline's clock runs from the end of its warm-up frames to the end of the last frame: count intervals.
  for (int i = 0; i < kWarmup; ++i) detector.detect(images[size_t(i) % images.size()].view(), options);
  const auto start = Clock::now();
  for (int i = kWarmup; i < count + kWarmup; ++i) detector.detect(images[size_t(i) % images.size()].view(), options);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  const int frames = argc > 1 ? std::atoi(argv[1]) : 100;
  const int long_frames = argc > 2 ? std::atoi(argv[2]) : 2000;
  if (frames <= 0 || long_frames < 0) {
    std::fprintf(stderr, "usage: %s [FRAMES>0] [LONG_FRAMES>=0]\n", argv[0]);
    return 2;
  }
  const std::string model_path = test::temp_folder("bench-pipeline") + "/bench.efad";
  test::write_random_model(model_path, efficientad::ModelGeometry{});
  const char* model = model_path.c_str();

  std::vector<efficientad::Image> images;
  std::vector<GstBuffer*> buffers;
  for (unsigned i = 0; i < 8; ++i) {
    images.push_back(test::textured_image(kWidth, kHeight, i));
    buffers.push_back(gst_buffer_new_memdup(images.back().data(), images.back().size_bytes()));
  }

  efficientad::Detector detector(model);
  run_engine(detector, images, 3);  // warm-up
  run_pipeline(model, buffers, 3);
  double engine_seconds = 0, pipeline_seconds = 0;
  for (int round = 0; round < 2; ++round) {  // interleaved, so that drift of the machine hits both alike
    engine_seconds += run_engine(detector, images, frames);
    pipeline_seconds += run_pipeline(model, buffers, frames);
  }
  const double engine_fps = 2.0 * frames / engine_seconds, pipeline_fps = 2.0 * frames / pipeline_seconds;
  std::printf("%dx%d RGB frames, %s mode, %d frames x 2 rounds each:\n", kWidth, kHeight,
              efficientad::mode_name(detector.mode()), frames);
  std::printf("  engine alone        %7.2f frames/s\n", engine_fps);
  std::printf("  through efficientad %7.2f frames/s   ratio %.3f (target >= 0.95)\n", pipeline_fps, pipeline_fps / engine_fps);

  // Several cameras on one box: 1-4 pipelines in this process share the cores (the element's default threads =
  // 0 gives each detector the cores the others leave free).
  std::printf("pipelines in one process, %d frames each:\n", frames);
  for (int streams = 1; streams <= 4; ++streams) {
    const std::vector<double> fps = run_streams(model, buffers, frames, streams);
    double total = 0, slowest = fps[0];
    for (double f : fps) total += f, slowest = std::min(slowest, f);
    std::printf("  %d pipeline(s)  %6.2f frames/s in total, %6.2f per stream (slowest %.2f)\n", streams, total,
                total / streams, slowest);
    std::fflush(stdout);
  }

  if (long_frames > 0) {
    static double first = 0, peak = 0;
    std::printf("resident memory over %d frames through the pipeline (MB):\n", long_frames);
    const double seconds = run_pipeline(model, buffers, long_frames, [](int frame) {
      const double mb = resident_mb();
      if (frame == 500) first = mb;
      peak = std::max(peak, mb);
      std::printf("  frame %6d  %8.1f\n", frame, mb);
      std::fflush(stdout);
    });
    const double last = resident_mb();
    std::printf("  end           %8.1f   growth after frame 500: %+.1f MB (peak %.1f), %.2f frames/s\n", last,
                last - first, peak, long_frames / seconds);
  }
  for (GstBuffer* b : buffers) gst_buffer_unref(b);
  std::filesystem::remove_all(std::filesystem::path(model_path).parent_path());
  return 0;
}
