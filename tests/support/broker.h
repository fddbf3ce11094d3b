// A real MQTT broker (Debian's mosquitto) on a free loopback port for the tests, and a subscriber that collects
// what it receives. The broker can be killed and restarted on the same port.
#pragma once

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.h"

namespace test {

class Broker {
 public:
  Broker() : port_(free_port()), config_(temp_folder("broker") + "/mosquitto.conf") {
    std::ofstream(config_) << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\npersistence false\n";
    start();
  }
  ~Broker() { kill_now(); }
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  int port() const { return port_; }

  void start() {
    const std::string program = access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto" : "mosquitto";
    const std::string log = config_ + ".log";  // the broker's own output stays out of the test's
    pid_ = fork();
    if (pid_ == 0) {
      if (FILE* out = std::freopen(log.c_str(), "a", stdout)) dup2(fileno(out), STDERR_FILENO);
      execlp(program.c_str(), program.c_str(), "-c", config_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {  // until it accepts connections
      if (accepts()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) +
                             " (is Debian's mosquitto installed? .ci/install-deps installs it)");
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  static int free_port() {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t n = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
    close(s);
    return ntohs(a.sin_port);
  }
  bool accepts() const {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
  }

  int port_;
  std::string config_;
  pid_t pid_ = -1;
};

// Subscribes to `topic` (QoS 1) and keeps every payload; resubscribes after the broker comes back.
class Subscriber {
 public:
  Subscriber(int port, std::string topic) : topic_(std::move(topic)) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(nullptr, true, this);
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, static_cast<Subscriber*>(self)->topic_.c_str(), 1);
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<Subscriber*>(self)->subscribed_ = true;
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard<std::mutex> lock(s->mutex_);
      s->payloads_.emplace_back(static_cast<const char*>(m->payload), size_t(m->payloadlen));
    });
    mosquitto_reconnect_delay_set(mosq_, 1, 2, false);
    mosquitto_connect(mosq_, "127.0.0.1", port, 30);
    mosquitto_loop_start(mosq_);
    for (int i = 0; i < 100 && !subscribed_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~Subscriber() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  std::vector<std::string> payloads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return payloads_;
  }
  // Waits up to `seconds` until at least `count` payloads arrived; returns how many did.
  size_t wait_for(size_t count, int seconds) {
    for (int i = 0; i < seconds * 20 && payloads().size() < count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return payloads().size();
  }
  bool subscribed() const { return subscribed_; }

 private:
  std::string topic_;
  mosquitto* mosq_ = nullptr;
  std::mutex mutex_;
  std::vector<std::string> payloads_;
  volatile bool subscribed_ = false;
};

}  // namespace test
