// Procedural stand-ins for natural images, for the pretraining penalty where the user has no ImageNet folder.
#pragma once

#include <random>

#include "efficientad/image.h"

namespace efficientad::detail {

// The "dead leaves" model: opaque shapes of random colour and texture, their radii drawn from a power law
// (density ~ r^-3, scale invariant as natural images are; Lee, Mumford & Huang 2001), each occluding the ones
// before it. Such images share natural photographs' edge and scale statistics (Baradad et al., NeurIPS 2021,
// pretrain networks on them), which is what the penalty needs: images unlike the normal parts, with structure at
// every scale. Packed RGB, width x height; the same rng state gives the same image. Throws InvalidArgument for a
// side outside 1..kMaxInputSide.
Image render_dead_leaves(int width, int height, std::mt19937_64& rng);

}  // namespace efficientad::detail
