// The model-file container: round trips, and every kind of damage a file can suffer on disk or in transit.
#include "check_compat.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "model/checksum.h"
#include "model/container.h"
#include "efficientad/errors.h"
#include "test_helpers.h"

using namespace efficientad;
using namespace efficientad::detail;

namespace {

Container sample() {
  Container c;
  c.header["kind"] = "model";
  c.header["note"] = "hello = world";
  c.tensors.push_back({"a.weight", {2, 3}, {1, 2, 3, 4, 5, 6}});
  c.tensors.push_back({"b", {1}, {-0.5f}});
  return c;
}

// Re-seals bytes after a deliberate edit so that only the structural check can catch it.
void reseal(std::vector<uint8_t>& bytes) {
  const uint32_t crc = crc32(bytes.data(), bytes.size() - 4);
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
}

// Asserts that parsing fails with ModelFileError whose message contains `needle`.
void expect_rejected(const std::vector<uint8_t>& bytes, const char* needle) {
  try {
    parse(bytes, "sample.efad");
  } catch (const ModelFileError& e) {
    ck_assert_msg(std::strstr(e.what(), needle) != nullptr, "message '%s' lacks '%s'", e.what(), needle);
    ck_assert_msg(std::strstr(e.what(), "sample.efad") != nullptr, "message '%s' does not name the file", e.what());
    return;
  }
  ck_abort_msg("damaged container was accepted (expected '%s')", needle);
}

// Byte offsets inside the serialised sample (see container.cpp): preamble 20 bytes, then the header size.
size_t header_text_offset() { return 20 + 4; }

}  // namespace

START_TEST(round_trip_in_memory) {
  const Container c = sample();
  const Container back = parse(serialize(c), "mem");
  ck_assert_uint_eq(back.version, kContainerVersion);
  ck_assert(back.header == c.header);
  ck_assert_uint_eq(back.tensors.size(), 2);
  ck_assert_str_eq(back.tensors[0].name.c_str(), "a.weight");
  ck_assert(back.tensors[0].shape == c.tensors[0].shape);
  ck_assert(back.tensors[0].values == c.tensors[0].values);
  ck_assert_float_eq(back.tensors[1].values[0], -0.5f);
}
END_TEST

START_TEST(round_trip_on_disk_leaves_no_temporary_files) {
  const std::string folder = test::temp_folder("container");
  const std::string path = folder + "/m.efad";
  write_container(path, sample());
  write_container(path, sample());  // overwrite in place
  ck_assert(read_container(path).header == sample().header);
  size_t entries = 0;
  for (auto& e : std::filesystem::directory_iterator(folder)) {
    (void)e;
    ++entries;
  }
  ck_assert_uint_eq(entries, 1);
  std::filesystem::remove_all(folder);
}
END_TEST

START_TEST(every_truncation_is_rejected_n) {
  const std::vector<uint8_t> full = serialize(sample());
  for (size_t length = 0; length < full.size(); ++length) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + long(length));
    try {
      parse(cut, "cut.efad");
      ck_abort_msg("truncation to %zu bytes accepted", length);
    } catch (const ModelFileError&) {
    }
  }
}
END_TEST

START_TEST(every_single_byte_flip_is_rejected_n) {
  const std::vector<uint8_t> full = serialize(sample());
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
      std::vector<uint8_t> bad = full;
      bad[i] ^= mask;
      try {
        parse(bad, "flip.efad");
        ck_abort_msg("flip of byte %zu with mask %02x accepted", i, mask);
      } catch (const ModelFileError&) {
      }
    }
  }
}
END_TEST

START_TEST(wrong_magic_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  std::memcpy(bytes.data(), "PK\x03\x04zipf", 8);  // e.g. a PyTorch .pth archive
  expect_rejected(bytes, "not a gst-efficientad model file");
}
END_TEST

START_TEST(newer_version_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  const uint32_t v = kContainerVersion + 1;
  std::memcpy(bytes.data() + 8, &v, 4);
  reseal(bytes);
  expect_rejected(bytes, "newer than this build reads");
}
END_TEST

START_TEST(version_zero_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  const uint32_t v = 0;
  std::memcpy(bytes.data() + 8, &v, 4);
  reseal(bytes);
  expect_rejected(bytes, "invalid model format version");
}
END_TEST

START_TEST(trailing_garbage_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  bytes.insert(bytes.end(), {1, 2, 3});
  expect_rejected(bytes, "longer than recorded");
}
END_TEST

START_TEST(checksum_mismatch_names_corruption_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  bytes[bytes.size() - 10] ^= 0x10;  // inside tensor data
  expect_rejected(bytes, "checksum mismatch");
}
END_TEST

START_TEST(nan_weights_n) {
  Container c = sample();
  c.tensors[0].values[3] = std::nanf("");
  expect_rejected(serialize(c), "NaN or infinite");
  c.tensors[0].values[3] = INFINITY;
  expect_rejected(serialize(c), "NaN or infinite");
}
END_TEST

START_TEST(duplicate_tensor_n) {
  Container c = sample();
  c.tensors.push_back(c.tensors[1]);
  expect_rejected(serialize(c), "appears twice");
}
END_TEST

START_TEST(malformed_header_line_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  // "kind=model\n" starts the header text: turn '=' into '!' and re-seal.
  const size_t at = header_text_offset() + std::string("kind").size();
  ck_assert_int_eq(bytes[at], '=');
  bytes[at] = '!';
  reseal(bytes);
  expect_rejected(bytes, "malformed header line");
}
END_TEST

START_TEST(header_size_beyond_file_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  const uint32_t huge = 0x7FFFFFFF;
  std::memcpy(bytes.data() + 20, &huge, 4);
  reseal(bytes);
  expect_rejected(bytes, "file ends inside the header");
}
END_TEST

START_TEST(negative_dimension_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  // First tensor record: after header and tensor count: u16 name length, name, u8 type, u8 rank, dims.
  uint32_t header_size;
  std::memcpy(&header_size, bytes.data() + 20, 4);
  const size_t dims = 20 + 4 + header_size + 4 + 2 + std::string("a.weight").size() + 1 + 1;
  const int64_t negative = -2;
  std::memcpy(bytes.data() + dims, &negative, 8);
  reseal(bytes);
  expect_rejected(bytes, "has dimension -2");
}
END_TEST

START_TEST(non_float_tensor_n) {
  std::vector<uint8_t> bytes = serialize(sample());
  uint32_t header_size;
  std::memcpy(&header_size, bytes.data() + 20, 4);
  const size_t type = 20 + 4 + header_size + 4 + 2 + std::string("a.weight").size();
  bytes[type] = 7;
  reseal(bytes);
  expect_rejected(bytes, "is not float32");
}
END_TEST

START_TEST(missing_empty_and_folder_paths_n) {
  const std::string folder = test::temp_folder("paths");
  auto expect = [](const std::string& path, const char* needle) {
    try {
      read_container(path);
      ck_abort_msg("%s accepted", path.c_str());
    } catch (const ModelFileError& e) {
      ck_assert_msg(std::strstr(e.what(), needle), "'%s' lacks '%s'", e.what(), needle);
    }
  };
  expect(folder + "/absent.efad", "not found");
  test::write_bytes(folder + "/empty.efad", {});
  expect(folder + "/empty.efad", "empty");
  expect(folder, "is a folder");
  expect("", "no model file given");
  std::filesystem::remove_all(folder);
}
END_TEST

// What a hostile probe found: /dev/zero grew to 1.4 GB, a FIFO hung the reader for ever, a 10 GB file whose header
// says 100 bytes was read to its end. Each is refused at once, before anything is allocated.
START_TEST(devices_fifos_and_oversized_files_n) {
  const std::string folder = test::temp_folder("hostile-paths");
  auto expect = [](const std::string& path, const char* needle) {
    const auto start = std::chrono::steady_clock::now();
    test::expect_throw<ModelFileError>([&] { read_container(path); }, needle);
    ck_assert_double_lt(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
  };
  expect("/dev/zero", "is a character device, not a regular file");
  const std::string fifo = folder + "/fifo.efad";
  ck_assert_int_eq(mkfifo(fifo.c_str(), 0600), 0);
  expect(fifo, "is a FIFO");
  // A sparse 10 GB file (no disk used) beyond the size limit, and a sparse 300 MB one whose preamble claims less.
  const std::vector<uint8_t> sample_bytes = serialize(sample());
  for (const auto& [name, size] : {std::pair{"huge.efad", uint64_t(10) << 30}, std::pair{"padded.efad", uint64_t(300) << 20}}) {
    const std::string path = folder + "/" + name;
    test::write_bytes(path, sample_bytes);
    ck_assert_int_eq(truncate(path.c_str(), off_t(size)), 0);
  }
  expect(folder + "/huge.efad", "more than the 1073741824 accepted");
  expect(folder + "/padded.efad", "longer than recorded");
}
END_TEST

// A write killed half-way (power loss, SIGKILL) leaves its temporary file; the next write of that file removes the
// ones of processes that no longer run, and leaves those of running ones alone.
START_TEST(killed_write_leftovers_are_removed_n) {
  const std::string folder = test::temp_folder("leftovers");
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // its pid now belongs to no process
  const std::string dead = folder + "/.m.efad.tmp-" + std::to_string(child) + "-AbC123";
  const std::string alive = folder + "/.m.efad.tmp-" + std::to_string(getpid()) + "-XyZ789";
  const std::string other = folder + "/.other.efad.tmp-" + std::to_string(child) + "-AbC123";
  for (const auto& path : {dead, alive, other}) test::write_bytes(path, {1, 2, 3});
  write_container(folder + "/m.efad", sample());
  ck_assert(!std::filesystem::exists(dead));
  ck_assert(std::filesystem::exists(alive));
  ck_assert(std::filesystem::exists(other));  // another file's temporaries are its own business
}
END_TEST

START_TEST(failed_write_keeps_previous_file_n) {
  const std::string folder = test::temp_folder("keep");
  const std::string path = folder + "/m.efad";
  write_container(path, sample());
  const auto before = test::read_bytes(path);
  Container bad = sample();
  bad.header["Bad Key"] = "x";
  try {
    write_container(path, bad);
    ck_abort_msg("invalid header key accepted");
  } catch (const InvalidArgument&) {
  }
  ck_assert(test::read_bytes(path) == before);
  try {
    write_container(folder + "/no/such/folder/m.efad", sample());
    ck_abort_msg("write into a missing folder succeeded");
  } catch (const IoError& e) {
    ck_assert(std::strstr(e.what(), "does not exist"));
  }
  try {
    write_container(folder, sample());
    ck_abort_msg("write onto a folder succeeded");
  } catch (const IoError&) {
  }
  std::filesystem::remove_all(folder);
}
END_TEST

int main() {
  return test::run_cases("container", {
      {"positive", TESTS(round_trip_in_memory, round_trip_on_disk_leaves_no_temporary_files)},
      {"negative", TESTS(every_truncation_is_rejected_n, every_single_byte_flip_is_rejected_n, wrong_magic_n, newer_version_n,
                   version_zero_n, trailing_garbage_n, checksum_mismatch_names_corruption_n, nan_weights_n,
                   duplicate_tensor_n, malformed_header_line_n, header_size_beyond_file_n, negative_dimension_n,
                   non_float_tensor_n, missing_empty_and_folder_paths_n, devices_fifos_and_oversized_files_n,
                   killed_write_leftovers_are_removed_n, failed_write_keeps_previous_file_n), 120},
  }, test::Fork::PerTest);
}
