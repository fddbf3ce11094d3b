/* Live model replacement for efficientad, free of GStreamer so that its rules have their own unit tests: models
 * load on one background thread while the current one keeps running, the newest request wins (a burst of
 * model-file sets loads at most two files, never one thread per set), and the streaming thread takes the loaded
 * model between two frames. */
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "efficientad/detector.h"

namespace efficientad::gst {

class ModelSwap {
 public:
  /* Builds a detector for a path; throws what Detector throws. */
  using Loader = std::function<std::unique_ptr<Detector> (const std::string & path)>;
  /* Told about a request that will never run: why (the load's error, or kSuperseded). Called on the loader or the
   * requesting thread, with no lock held. */
  using Refusal = std::function<void (const std::string & path, const std::string & error, bool load_failed)>;
  static constexpr const char *kSuperseded = "superseded by a later model-file";

  ModelSwap (Loader load, Refusal refused);
  ~ModelSwap ();  /* as stop() */
  ModelSwap (const ModelSwap &) = delete;
  ModelSwap & operator= (const ModelSwap &) = delete;

  /* Queues `path` for loading and returns at once; a queued, not yet started request is superseded. */
  void request (const std::string & path);
  /* Whether a loaded model waits to be taken (cheap: the streaming thread asks every frame). */
  bool has_loaded () const;
  /* The model that finished loading (null if none) and, in *path, its file. */
  std::unique_ptr<Detector> take_loaded (std::string * path);
  /* Drops every request without telling, waits for a running load, ends the thread. Idempotent. */
  void stop ();

 private:
  void loop ();
  void finish_load (const std::string & path, std::unique_ptr<Detector> detector, const std::string & error);

  Loader load_;
  Refusal refused_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string queued_;           /* the next file to load; empty: none */
  bool has_queued_ = false;
  std::unique_ptr<Detector> loaded_;
  std::string loaded_path_;
  bool stopping_ = false;
  std::thread thread_;  /* last: starts after the members it uses */
};

}  // namespace efficientad::gst
