#!/usr/bin/python3
"""Recomputes the metrics of metrics_dump's random cases independently and compares them with the engine's.

Image and pixel AUROC and F1-max come from scikit-learn; AU-PRO from a direct implementation of the MVTec AD
definition: for every distinct threshold, the false positive rate over normal pixels and the mean overlap of the
connected defect regions (scipy.ndimage.label, 8-connectivity), integrated up to the limit with numpy.

    metrics_reference.py CASE_FILE RESULT_FILE
"""
import sys

import numpy as np
from scipy import ndimage
from sklearn.metrics import precision_recall_curve, roc_auc_score


def read_cases(path):
    images = []
    with open(path) as f:
        lines = f.read().splitlines()
    for i in range(0, len(lines), 3):
        _, group, score, w, h = lines[i].split()
        w, h = int(w), int(h)
        values = np.array(lines[i + 1].split(), dtype=np.float64).reshape(h, w)
        mask = np.array(lines[i + 2].split(), dtype=np.int64).reshape(h, w) >= 128
        images.append((int(group), float(score), values, mask))
    return images


def read_results(path):
    subsets, current = [], None
    for line in open(path):
        key, *rest = line.split()
        if key == "subset":
            current = {"groups": [int(g) for g in rest]}
            subsets.append(current)
        else:
            current[key] = float(rest[0])
    return subsets


def aupro(values, labels, region_sizes, normal, limit, keep):
    """labels: region index per pixel (-1 normal); keep: which regions count."""
    kept = [r for r in range(len(region_sizes)) if keep(region_sizes[r])]
    fprs, pros = [0.0], [0.0]
    for t in np.unique(values)[::-1]:
        above = values >= t
        fprs.append(above[normal].mean())
        pros.append(np.mean([above[labels == r].mean() for r in kept]))
    fprs, pros = np.array(fprs), np.array(pros)
    inside = fprs <= limit
    x = np.append(fprs[inside], limit)
    y = np.append(pros[inside], np.interp(limit, fprs, pros))
    return np.trapz(y, x) / limit


def reference(images, groups):
    chosen = [im for im in images if im[0] in groups]
    labels_image = np.array([g != 0 for g, _, _, _ in chosen])
    scores = np.array([s for _, s, _, _ in chosen])
    precision, recall, _ = precision_recall_curve(labels_image, scores)
    with np.errstate(invalid="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    values, labels, sizes = [], [], []
    for _, _, v, m in chosen:
        regions, n = ndimage.label(m, structure=np.ones((3, 3)))
        lab = np.where(regions > 0, regions - 1 + len(sizes), -1)
        sizes += [int((regions == r).sum()) for r in range(1, n + 1)]
        values.append(v.ravel())
        labels.append(lab.ravel())
    values, labels = np.concatenate(values), np.concatenate(labels)
    normal = labels < 0
    out = {
        "image_auroc": roc_auc_score(labels_image, scores),
        "image_f1_max": f1.max(),
        "pixel_auroc": roc_auc_score(~normal, values),
        "aupro30": aupro(values, labels, sizes, normal, 0.3, lambda s: True),
        "aupro5": aupro(values, labels, sizes, normal, 0.05, lambda s: True),
        "regions": len(sizes),
    }
    return out, (values, labels, sizes, normal)


def main(case_file, result_file):
    images = read_cases(case_file)
    # Size quartiles are the dataset's: over the regions of every image.
    _, (_, _, all_sizes, _) = reference(images, [0, 1, 2])
    quartiles = np.percentile(all_sizes, [25, 50, 75])
    failures = 0
    for engine in read_results(result_file):
        expected, (values, labels, sizes, normal) = reference(images, engine["groups"])
        for k, q in enumerate(quartiles, start=1):
            for limit, name in ((0.3, "aupro30"), (0.05, "aupro5")):
                expected[f"{name}_q{k}"] = aupro(values, labels, sizes, normal, limit, lambda s, q=q: s <= q)
        for key, value in expected.items():
            ok = abs(engine[key] - value) <= 1e-6
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} groups {engine['groups']} {key}: engine {engine[key]:.9f} reference {value:.9f}")
    print(f"{failures} mismatch(es)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
