import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.tracking.kalman import (
    BoxKalman,
    KalmanParams,
    cxcywh_to_xyxy,
    xyxy_to_cxcywh,
)

coord = st.floats(-500, 2000, allow_nan=False)
size = st.floats(2, 400, allow_nan=False)
box = st.tuples(coord, coord, size, size)
step = st.floats(0, 3, allow_nan=False)


def assert_spd(cov: np.ndarray) -> None:
    assert np.allclose(cov, cov.transpose(0, 2, 1), rtol=0, atol=1e-9 * np.abs(cov).max())
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_box_conversions_round_trip() -> None:
    b = np.array([[10.0, 20.0, 50.0, 100.0], [0.0, 0.0, 1.0, 2.0]])
    assert np.allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(b)), b)
    assert np.allclose(xyxy_to_cxcywh(b)[0], [30.0, 60.0, 40.0, 80.0])


def test_initiate_shapes_and_zero_velocity() -> None:
    kf = BoxKalman()
    mean, cov = kf.initiate(np.array([[10.0, 10.0, 20.0, 40.0]] * 3))
    assert mean.shape == (3, 8) and cov.shape == (3, 8, 8)
    assert np.all(mean[:, 4:] == 0)
    assert_spd(cov)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="pos_noise"):
        KalmanParams(pos_noise=0)


@given(boxes=st.lists(box, min_size=1, max_size=6), dt=step)
def test_predict_at_rest_keeps_position(boxes: list[tuple[float, ...]], dt: float) -> None:
    kf = BoxKalman()
    z = np.array(boxes)
    mean, cov = kf.initiate(z)
    new_mean, new_cov = kf.predict(mean, cov, dt)
    assert np.array_equal(new_mean, mean)
    # Time passing can only make us less sure.
    assert np.all(np.diagonal(new_cov, axis1=1, axis2=2) >= np.diagonal(cov, axis1=1, axis2=2))


def test_predict_with_zero_dt_is_identity() -> None:
    kf = BoxKalman()
    mean, cov = kf.initiate(np.array([[100.0, 100.0, 30.0, 60.0]]))
    mean[:, 4:6] = [50.0, -20.0]
    new_mean, new_cov = kf.predict(mean, cov, 0.0)
    assert np.allclose(new_mean, mean) and np.allclose(new_cov, cov)


def test_predict_rejects_negative_dt() -> None:
    kf = BoxKalman()
    mean, cov = kf.initiate(np.array([[100.0, 100.0, 30.0, 60.0]]))
    with pytest.raises(ValueError):
        kf.predict(mean, cov, -0.1)


def test_per_track_dt() -> None:
    kf = BoxKalman()
    mean, cov = kf.initiate(np.array([[0.0, 0.0, 10.0, 10.0]] * 2))
    mean[:, 4] = 10.0
    new_mean, _ = kf.predict(mean, cov, np.array([1.0, 2.0]))
    assert np.allclose(new_mean[:, 0], [10.0, 20.0])


def test_noise_is_per_second_not_per_call() -> None:
    """Ten steps of 0.1 s give the same state and uncertainty as one of 1 s."""
    kf = BoxKalman()
    mean, cov = kf.initiate(np.array([[100.0, 100.0, 30.0, 60.0]]))
    mean[:, 4:6] = [40.0, 10.0]
    m1, c1 = kf.predict(mean, cov, 1.0)
    m10, c10 = mean, cov
    for _ in range(10):
        m10, c10 = kf.predict(m10, c10, 0.1)
    assert np.allclose(m1, m10)
    assert np.allclose(c1, c10)


def test_velocity_converges_with_irregular_steps() -> None:
    kf = BoxKalman()
    rng = np.random.default_rng(1)
    v = np.array([80.0, -30.0])
    t = 0.0
    mean, cov = kf.initiate(np.array([[100.0, 300.0, 40.0, 80.0]]))
    for _ in range(40):
        dt = float(rng.choice([0.1, 0.1, 0.5, 1.0]))
        t += dt
        mean, cov = kf.predict(mean, cov, dt)
        z = np.array([[100.0 + v[0] * t, 300.0 + v[1] * t, 40.0, 80.0]])
        mean, cov = kf.update(mean, cov, z + rng.normal(0, 1.0, size=(1, 4)))
    assert np.allclose(mean[0, 4:6], v, atol=5.0)
    assert np.allclose(mean[0, 6:8], 0.0, atol=5.0)


@settings(max_examples=60, deadline=None)
@given(
    start=box,
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("p"), step),
            st.tuples(st.just("u"), box),
        ),
        max_size=25,
    ),
)
def test_covariance_stays_symmetric_positive_definite(
    start: tuple[float, ...], ops: list[tuple[str, object]]
) -> None:
    kf = BoxKalman()
    mean, cov = kf.initiate(np.array([start]))
    for kind, arg in ops:
        if kind == "p":
            mean, cov = kf.predict(mean, cov, float(arg))  # type: ignore[arg-type]
        else:
            mean, cov = kf.update(mean, cov, np.array([arg]))
        assert np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))
        assert_spd(cov)
