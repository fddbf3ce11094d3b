/* efficientadtrain: capture normal frames and train a model from them (see gstefficientadtrain.cpp). */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_EFFICIENTAD_TRAIN (gst_efficientad_train_get_type ())
G_DECLARE_FINAL_TYPE (GstEfficientAdTrain, gst_efficientad_train, GST, EFFICIENTAD_TRAIN, GstVideoFilter)

/* EfficientAD variant to train. */
typedef enum {
  GST_EFFICIENTAD_VARIANT_S,
  GST_EFFICIENTAD_VARIANT_M,
} GstEfficientAdVariant;

/* Learning rate over the training steps ('efficientad train --schedule'). */
typedef enum {
  GST_EFFICIENTAD_SCHEDULE_PAPER,
  GST_EFFICIENTAD_SCHEDULE_COSINE,
} GstEfficientAdSchedule;

/* The pretraining penalty's images where no penalty-images folder is set ('efficientad train --penalty'). */
typedef enum {
  GST_EFFICIENTAD_PENALTY_OFF,
  GST_EFFICIENTAD_PENALTY_DEAD_LEAVES,
} GstEfficientAdPenalty;

GST_ELEMENT_REGISTER_DECLARE (efficientadtrain);

G_END_DECLS
