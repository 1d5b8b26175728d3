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


def test_fill_polygon_fills_pixels_whose_centres_are_inside_and_reports_the_changed_rect():
    mask = np.zeros((20, 30), bool)
    # an axis-aligned square from (2, 3) to (12, 9): exactly the pixels x 2..11, y 3..8
    rect = tools.fill_polygon(mask, [(2, 3), (12, 3), (12, 9), (2, 9)], True)
    expected = np.zeros_like(mask)
    expected[3:9, 2:12] = True
    assert np.array_equal(mask, expected) and rect == (2, 3, 12, 9)
    assert tools.fill_polygon(mask, [(2, 3), (12, 3), (12, 9), (2, 9)], True) is None  # nothing changed

    # a triangle: about half its bounding box, all of it inside the bounding box
    tri = np.zeros((40, 40), np.int32)
    rect = tools.fill_polygon(tri, [(0, 0), (40, 0), (0, 40)], 3)
    assert 700 < (tri == 3).sum() < 900 and tri[1, 1] == 3 and tri[38, 38] == 0
    assert rect == tools.changed_rect(np.zeros_like(tri), tri)


def test_fill_polygon_clips_to_the_image_and_ignores_degenerate_lassos():
    mask = np.zeros((10, 10), bool)
    assert tools.fill_polygon(mask, [(1, 1), (5, 5)], True) is None  # a line is no area
    assert tools.fill_polygon(mask, [(20, 20), (30, 20), (30, 30)], True) is None  # wholly outside
    rect = tools.fill_polygon(mask, [(-5, -5), (15, -5), (15, 15), (-5, 15)], True)
    assert mask.all() and rect == (0, 0, 10, 10)
    ring = np.zeros((20, 20), bool)  # a self-crossing bow tie: two triangles, the crossing point between
    tools.fill_polygon(ring, [(0, 0), (20, 20), (20, 0), (0, 20)], True)
    assert ring[10, 2] and ring[10, 17] and not ring[2, 10] and not ring[17, 10]
