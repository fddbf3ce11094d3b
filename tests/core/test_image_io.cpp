// Reading and writing images, folder listing, pixel conversion and the synthetic demonstration data.
#include "check_compat.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "efficientad/errors.h"
#include "efficientad/image_io.h"
#include "efficientad/synthetic.h"
#include "image/image_ops.h"
#include "test_helpers.h"

using namespace efficientad;
namespace fs = std::filesystem;

namespace {

std::string folder;
void setup() { folder = test::temp_folder("imageio"); }
void teardown() { fs::remove_all(folder); }

void expect_image_error(const std::string& path, const char* needle) {
  try {
    load_image(path);
  } catch (const ImageError& e) {
    ck_assert_msg(std::strstr(e.what(), needle), "'%s' lacks '%s'", e.what(), needle);
    ck_assert_msg(std::strstr(e.what(), path.c_str()), "'%s' does not name the file", e.what());
    return;
  }
  ck_abort_msg("%s was accepted", path.c_str());
}

}  // namespace

START_TEST(png_round_trip_colour_and_grey) {
  const Image rgb = test::textured_image(37, 23, 1);
  save_png(folder + "/c.png", rgb.view());
  const Image back = load_image(folder + "/c.png");
  ck_assert(back.format() == PixelFormat::Rgb8);
  ck_assert_int_eq(back.width(), 37);
  ck_assert_int_eq(std::memcmp(back.data(), rgb.data(), rgb.size_bytes()), 0);
  Image grey(5, 4, PixelFormat::Gray8);
  for (int i = 0; i < 20; ++i) grey.data()[i] = uint8_t(i * 10);
  save_png(folder + "/g.png", grey.view());
  const Image g = load_image(folder + "/g.png");
  ck_assert(g.format() == PixelFormat::Gray8);
  ck_assert_int_eq(g.data()[19], 190);
}
END_TEST

START_TEST(jpeg_sixteen_bit_and_alpha) {
  cv::Mat bgr(20, 30, CV_8UC3, cv::Scalar(10, 20, 200));  // OpenCV order: blue, green, red
  cv::imwrite(folder + "/red.jpg", bgr);
  const Image jpeg = load_image(folder + "/red.jpg");
  ck_assert(jpeg.format() == PixelFormat::Rgb8);
  ck_assert_int_ge(jpeg.data()[0], 190);  // red first after conversion
  ck_assert_int_le(jpeg.data()[2], 25);
  cv::Mat deep(8, 8, CV_16UC1, cv::Scalar(65535));
  cv::imwrite(folder + "/deep.png", deep);
  const Image d = load_image(folder + "/deep.png");
  ck_assert_int_eq(d.data()[0], 255);
  cv::Mat rgba(6, 6, CV_8UC4, cv::Scalar(1, 2, 3, 0));
  cv::imwrite(folder + "/alpha.png", rgba);
  const Image a = load_image(folder + "/alpha.png");
  ck_assert(a.format() == PixelFormat::Rgb8);
  ck_assert_int_eq(a.data()[0], 3);
}
END_TEST

START_TEST(folder_listing_sorted_and_filtered) {
  for (const char* name : {"b.PNG", "a.jpg", "c.jpeg", "notes.txt", "d.bmp"}) test::write_bytes(folder + "/" + name, {1});
  fs::create_directories(folder + "/sub.png");
  const auto files = list_image_files(folder);
  ck_assert_uint_eq(files.size(), 4);
  ck_assert(fs::path(files[0]).filename() == "a.jpg");
  ck_assert(fs::path(files[1]).filename() == "b.PNG");
  ck_assert(fs::path(files[3]).filename() == "d.bmp");
}
END_TEST

START_TEST(conversion_to_network_input) {
  Image bgr(2, 1, PixelFormat::Bgr8);
  const uint8_t pixels[6] = {1, 2, 3, 4, 5, 6};
  std::memcpy(bgr.data(), pixels, 6);
  const Image rgb = detail::to_network_input(bgr.view(), 2, 1);
  const uint8_t expected[6] = {3, 2, 1, 6, 5, 4};
  ck_assert_int_eq(std::memcmp(rgb.data(), expected, 6), 0);
  const Image big = detail::to_network_input(test::textured_image(1000, 700, 3).view(), 256, 256);
  ck_assert_int_eq(big.width(), 256);
  ck_assert(big.format() == PixelFormat::Rgb8);
  // A strided view (a region of a frame) converts like a packed copy.
  const Image frame = test::textured_image(64, 64, 4);
  const ImageView roi = frame.view().crop(8, 8, 32, 32);
  Image copy(32, 32, PixelFormat::Rgb8);
  for (int y = 0; y < 32; ++y) std::memcpy(copy.data() + y * 96, roi.data + y * roi.row_bytes(), 96);
  const Image a = detail::to_network_input(roi, 256, 256), b = detail::to_network_input(copy.view(), 256, 256);
  ck_assert_int_eq(std::memcmp(a.data(), b.data(), a.size_bytes()), 0);
}
END_TEST

START_TEST(synthetic_parts_are_deterministic_with_masks) {
  Image mask_a, mask_b;
  const Image a = render_synthetic_part(128, 5, "crack", &mask_a), b = render_synthetic_part(128, 5, "crack", &mask_b);
  ck_assert_int_eq(std::memcmp(a.data(), b.data(), a.size_bytes()), 0);
  size_t defect_pixels = 0;
  for (size_t i = 0; i < mask_a.size_bytes(); ++i) defect_pixels += mask_a.data()[i] == 255;
  ck_assert_uint_gt(defect_pixels, 10);
  for (const auto& kind : synthetic_defect_kinds()) {
    Image mask;
    render_synthetic_part(128, 9, kind, &mask);
    size_t n = 0;
    for (size_t i = 0; i < mask.size_bytes(); ++i) n += mask.data()[i] != 0;
    ck_assert_msg(n > 0, "defect kind %s has an empty mask", kind.c_str());
  }
  Image good_mask;
  render_synthetic_part(128, 9, "", &good_mask);
  for (size_t i = 0; i < good_mask.size_bytes(); ++i) ck_assert_int_eq(good_mask.data()[i], 0);
  const int written = write_synthetic_dataset(folder + "/ds", SyntheticOptions{2, 1, 1, 96, 3});
  ck_assert_int_eq(written, 2 + 1 + 5);
  ck_assert(fs::exists(folder + "/ds/ground_truth/missing_hole/000_mask.png"));
}
END_TEST

START_TEST(conveyor_video_frames_and_parts_table) {
  ConveyorOptions o;
  o.width = 128, o.height = 96, o.parts = 5, o.good_parts = 2, o.defect_every = 1, o.step = 24;
  const ConveyorVideo video = write_conveyor_video(folder + "/belt", o);
  // The belt starts empty in view and runs until the last part (start 128 + 4 * 120, 96 wide) has left it.
  ck_assert_int_eq(video.frames, (128 + 4 * 120 + 96 + 23) / 24);
  ck_assert_uint_eq(video.parts.size(), 5);
  for (int f : {0, video.frames - 1}) {
    char name[32];
    std::snprintf(name, sizeof name, "/belt/frame-%05d.png", f);
    const Image frame = load_image(folder + name);
    ck_assert_int_eq(frame.width(), 128);
    ck_assert_int_eq(frame.height(), 96);
  }
  ck_assert(!fs::exists(folder + "/belt/frame-" + std::to_string(100000 + video.frames).substr(1) + ".png"));
  const std::vector<std::string> kinds = {"", "", "scratch", "crack", "spot"};
  for (const auto& part : video.parts) {
    ck_assert_str_eq(part.defect.c_str(), kinds[size_t(part.index)].c_str());
    ck_assert_int_gt(part.first_frame, 0);  // the first frames show the empty belt
    ck_assert_int_le(part.first_frame, part.last_frame);
    if (part.defect.empty()) {
      ck_assert_int_eq(part.defect_first_frame, -1);
    } else {  // the defect is on the part: seen while the part is
      ck_assert_int_ge(part.defect_first_frame, part.first_frame);
      ck_assert_int_le(part.defect_first_frame, part.defect_last_frame);
      ck_assert_int_le(part.defect_last_frame, part.last_frame);
    }
  }
  const std::vector<std::string> table = test::read_lines(folder + "/belt/parts.csv");
  ck_assert_uint_eq(table.size(), 6);
  ck_assert_str_eq(table[0].c_str(), "part,defect,first_frame,last_frame,defect_first_frame,defect_last_frame");
  const ConveyorPart& scratched = video.parts[2];
  const std::string row = "2,scratch," + std::to_string(scratched.first_frame) + "," +
                          std::to_string(scratched.last_frame) + "," + std::to_string(scratched.defect_first_frame) +
                          "," + std::to_string(scratched.defect_last_frame);
  ck_assert_str_eq(table[3].c_str(), row.c_str());
  // Same seed, same video.
  write_conveyor_video(folder + "/again", o);
  ck_assert(test::read_bytes(folder + "/belt/frame-00007.png") == test::read_bytes(folder + "/again/frame-00007.png"));
}
END_TEST

START_TEST(bad_conveyor_options_n) {
  // The default options with one edit must be refused, the message saying `message`.
  auto expect_refused = [](void (*edit)(ConveyorOptions&), const char* message) {
    ConveyorOptions o;
    edit(o);
    try {
      write_conveyor_video(folder + "/x", o);
      ck_abort_msg("conveyor options accepted; expected '%s'", message);
    } catch (const InvalidArgument& e) {
      ck_assert_msg(std::strstr(e.what(), message), "'%s' does not say '%s'", e.what(), message);
    }
  };
  expect_refused([](ConveyorOptions& o) { o.height = 32; }, "at least 64 pixels");
  expect_refused([](ConveyorOptions& o) { o.parts = 0; }, "1 to 10000 parts");
  expect_refused([](ConveyorOptions& o) { o.good_parts = 40; }, "cannot exceed the 36 parts");
  expect_refused([](ConveyorOptions& o) { o.defect_every = 0; }, "defect-every");
  expect_refused([](ConveyorOptions& o) { o.step = 0; }, "1 to width pixels");
  expect_refused([](ConveyorOptions& o) { o.parts = 10000, o.height = 1024; }, "25 megapixels");
  test::write_bytes(folder + "/file", {1});
  ConveyorOptions o;
  o.parts = 1, o.good_parts = 1;
  try {
    write_conveyor_video(folder + "/file/belt", o);
    ck_abort_msg("a folder inside a file accepted");
  } catch (const IoError& e) {
    ck_assert(std::strstr(e.what(), "cannot create folder"));
  }
}
END_TEST

START_TEST(unreadable_image_files_n) {
  expect_image_error(folder + "/absent.png", "not found");
  test::write_bytes(folder + "/zero.png", {});
  expect_image_error(folder + "/zero.png", "empty (0 bytes)");
  test::write_bytes(folder + "/text.png", {'h', 'e', 'l', 'l', 'o'});
  expect_image_error(folder + "/text.png", "cannot decode");
  save_png(folder + "/ok.png", test::textured_image(64, 64, 2).view());
  auto bytes = test::read_bytes(folder + "/ok.png");
  bytes.resize(40);
  test::write_bytes(folder + "/truncated.png", bytes);
  expect_image_error(folder + "/truncated.png", "cannot decode");
  fs::create_directories(folder + "/dir.png");
  expect_image_error(folder + "/dir.png", "folder");
}
END_TEST

// What a hostile probe found: a 1.1 MB PNG declaring 20000 x 20000 was decoded in full (3 GB); a cut-off JPEG was
// scored as if whole; /dev/zero and FIFOs are no images.
START_TEST(bombs_truncated_jpegs_and_devices_n) {
  save_png(folder + "/small.png", test::textured_image(64, 64, 3).view());
  std::vector<uint8_t> png = test::read_bytes(folder + "/small.png");
  for (int i = 0; i < 2; ++i) {  // IHDR width and height, big-endian: 20000 each
    const uint32_t side = 20000;
    for (int b = 0; b < 4; ++b) png[size_t(16 + 4 * i + b)] = uint8_t(side >> (24 - 8 * b));
  }
  test::write_bytes(folder + "/bomb.png", png);
  expect_image_error(folder + "/bomb.png", "declares 20000 x 20000 pixels");

  std::vector<uchar> jpeg;
  const cv::Mat pixels(48, 64, CV_8UC3, cv::Scalar(40, 120, 200));
  ck_assert(cv::imencode(".jpg", pixels, jpeg));
  test::write_bytes(folder + "/whole.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.end()));
  ck_assert_int_eq(load_image(folder + "/whole.jpg").width(), 64);
  jpeg.resize(jpeg.size() * 2 / 3);
  test::write_bytes(folder + "/cut.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.end()));
  expect_image_error(folder + "/cut.jpg", "truncated JPEG");

  try {
    load_image("/dev/zero");
    ck_abort_msg("/dev/zero accepted as an image");
  } catch (const ImageError& e) {
    ck_assert_msg(std::strstr(e.what(), "character device"), "'%s'", e.what());
  }
}
END_TEST

START_TEST(bad_folders_and_sizes_n) {
  try {
    list_image_files(folder + "/nope");
    ck_abort_msg("missing folder accepted");
  } catch (const InvalidArgument& e) {
    ck_assert(std::strstr(e.what(), "not found"));
  }
  test::write_bytes(folder + "/file", {1});
  try {
    list_image_files(folder + "/file");
    ck_abort_msg("file accepted as folder");
  } catch (const InvalidArgument& e) {
    ck_assert(std::strstr(e.what(), "not a folder"));
  }
  for (auto [w, h] : {std::pair{0, 5}, std::pair{5, 0}, std::pair{-1, 3}}) {
    try {
      Image bad(w, h, PixelFormat::Rgb8);
      ck_abort_msg("image %dx%d accepted", w, h);
    } catch (const InvalidArgument&) {
    }
  }
  try {
    render_synthetic_part(128, 1, "dent", nullptr);
    ck_abort_msg("unknown defect kind accepted");
  } catch (const InvalidArgument&) {
  }
  try {
    save_png(folder + "/missing/dir/x.png", test::textured_image(4, 4, 1).view());
    ck_abort_msg("save into a missing folder succeeded");
  } catch (const IoError&) {
  }
}
END_TEST

int main() {
  return test::run_cases("image_io", {
      {"positive", TESTS(png_round_trip_colour_and_grey, jpeg_sixteen_bit_and_alpha, folder_listing_sorted_and_filtered,
                   conversion_to_network_input, synthetic_parts_are_deterministic_with_masks,
                   conveyor_video_frames_and_parts_table), 0, setup, teardown, true},
      {"negative", TESTS(unreadable_image_files_n, bombs_truncated_jpegs_and_devices_n, bad_folders_and_sizes_n,
                   bad_conveyor_options_n), 0, setup, teardown, true},
  }, test::Fork::PerTest);
}
