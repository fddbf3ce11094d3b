// Test fixtures that need no test framework (shared by the Check tests and the GstCheck tests): temporary
// folders, small model files without training, test images, raw file I/O. Failures throw std::runtime_error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "efficientad/image.h"
#include "efficientad/model.h"

namespace test {

// A fresh empty folder under $TMPDIR (or /tmp), removed with its contents when this process exits.
std::string temp_folder(const std::string& tag);

// Writes a model with random weights, plausible statistics and quantiles (no training, about a second); its
// threshold is 0.4, and `int8_threshold` the one for int8 maps if given (else none, as in older models).
void write_random_model(const std::string& path, const efficientad::ModelGeometry& geometry, unsigned seed = 1,
                        std::optional<float> int8_threshold = std::nullopt);

// A deterministic textured RGB image.
efficientad::Image textured_image(int width, int height, unsigned seed);

std::vector<uint8_t> read_bytes(const std::string& path);
// The lines of a text file, without their newlines.
std::vector<std::string> read_lines(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace test
