// The largest inputs the engine accepts, checked before anything is allocated (README "Input limits"). Inputs
// come from cameras, disks and the internet; a file that claims more is refused with a message, not decoded.
#pragma once

#include <cstdint>

namespace efficientad {

// Model and teacher files (.efad). EfficientAD-M at the largest input is about 90 MB.
constexpr uint64_t kMaxModelFileBytes = uint64_t(1) << 30;
// The text header of a model file.
constexpr uint64_t kMaxModelHeaderBytes = uint64_t(1) << 20;
// Elements of one tensor in a model, teacher or PyTorch file (the largest real one has 1.2 million).
constexpr uint64_t kMaxTensorElements = uint64_t(1) << 28;
// PyTorch teacher archives (torch.save .pth) and TF.js backbone files.
constexpr uint64_t kMaxImportFileBytes = uint64_t(1) << 30;
// Image files, and the pixels an image may declare (a 16384 x 8192 line-scan frame fits; a PNG declaring
// 20000 x 20000 does not).
constexpr uint64_t kMaxImageFileBytes = uint64_t(512) << 20;
constexpr uint64_t kMaxImagePixels = uint64_t(1) << 27;

}  // namespace efficientad
