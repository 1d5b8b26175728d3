"""Label-map painting operations: whole classes only, exact rectangles."""

import numpy as np

from gui.paint import tools


def test_hard_dab_paints_a_disc_of_one_class_and_reports_its_rect():
    labels = np.zeros((32, 32), np.int32)
    rect = tools.paint_dab(labels, 16, 16, 9, 5)
    assert rect is not None
    x0, y0, x1, y1 = rect
    assert set(np.unique(labels)) == {0, 5}
    ys, xs = np.nonzero(labels == 5)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == tools.changed_rect(np.zeros_like(labels), labels)
    assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1
    assert 50 < (labels == 5).sum() < 80  # about pi * 4.5^2


def test_soft_dab_never_mixes_classes_and_is_sparser_at_the_rim():
    labels = np.zeros((64, 64), np.int32)
    tools.paint_dab(labels, 32, 32, 40, 7, hardness=0.0)
    assert set(np.unique(labels)) == {0, 7}
    dist = np.hypot(*(np.mgrid[0:64, 0:64] - 31.5))

    def density(r):
        return (labels[np.abs(dist - r) < 1] == 7).mean()

    assert density(4) > density(10) > density(15) > density(19) and density(19) < 0.2
    hard = np.zeros((64, 64), np.int32)
    tools.paint_dab(hard, 32, 32, 40, 7, hardness=0.8)
    assert (hard[np.abs(dist - 14) < 1] == 7).all()  # the hard core is solid


def test_repainting_the_same_class_changes_nothing():
    labels = np.full((10, 10), 3, np.int32)
    assert tools.paint_dab(labels, 5, 5, 4, 3) is None
    assert tools.fill_rect(labels, 0, 0, 9, 9, 3) is None
    assert tools.flood_fill(labels, 2, 2, 3) is None


def test_dab_outside_the_map_is_clipped():
    labels = np.zeros((8, 8), np.int32)
    assert tools.paint_dab(labels, -20, -20, 4, 1) is None
    rect = tools.paint_dab(labels, 0, 0, 6, 1)
    assert rect[0] == 0 and rect[1] == 0 and labels[0, 0] == 1


def test_line_has_no_gaps():
    labels = np.zeros((20, 100), np.int32)
    tools.paint_line(labels, 2, 10, 97, 10, 3, 1)
    assert (labels[10, 2:97] == 1).all()


def test_flood_fill_stays_inside_its_region():
    labels = np.zeros((10, 10), np.int32)
    labels[:, 5] = 2  # a wall
    labels[3, 7] = 4  # an island on the other side
    rect = tools.flood_fill(labels, 1, 1, 9)
    assert rect == (0, 0, 5, 10)
    assert (labels[:, :5] == 9).all() and (labels[:, 5] == 2).all() and (labels[:, 6:] != 9).all()


def test_flood_fill_follows_a_winding_region():
    labels = np.ones((7, 7), np.int32)
    path = [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (4, 1), (5, 1), (5, 2), (5, 3), (5, 4), (5, 5)]
    for y, x in path:
        labels[y, x] = 0
    tools.flood_fill(labels, 1, 1, 8)
    assert all(labels[y, x] == 8 for y, x in path)
    assert (labels == 8).sum() == len(path)


def test_rect_and_eyedropper_and_replace():
    labels = np.zeros((10, 10), np.int32)
    assert tools.fill_rect(labels, 7, 6, 2, 3, 4) == (2, 3, 8, 7)
    assert tools.pick(labels, 2, 3) == 4 and tools.pick(labels, 0, 0) == 0 and tools.pick(labels, 10, 0) is None
    assert tools.replace_class(labels, 4, 1) == (2, 3, 8, 7)
    assert (labels == 4).sum() == 0


def test_masks_paint_booleans():
    mask = np.zeros((10, 10), bool)
    assert tools.paint_dab(mask, 5, 5, 4, True) is not None
    assert mask.dtype == bool and mask.sum() > 0
