//! Tests of the merge methods, the weight and architecture checks, eq. 9.

use super::ties::trim;
use super::*;
use crate::device::default_device;
use burn::nn::{Linear as Dense, LinearConfig};

fn dense(seed: u64) -> Dense {
    let dev = default_device();
    dev.seed(seed);
    LinearConfig::new(4, 3).init(&dev)
}

fn weight(m: &Dense) -> Vec<f32> {
    m.weight.val().into_data().iter::<f32>().collect()
}

#[test]
fn linear_average_is_exact() {
    let (a, b) = (dense(1), dense(2));
    let m = Linear.merge(&[&a, &b], &[0.25, 0.75], None).unwrap();
    for ((x, y), z) in weight(&a).iter().zip(weight(&b)).zip(weight(&m)) {
        assert!((0.25 * x + 0.75 * y - z).abs() < 1e-6);
    }
    assert!(matches!(
        Linear.merge(&[&a, &b], &[0.5, 0.6], None),
        Err(MergeError::BadWeights { .. })
    ));
    assert!(matches!(
        Linear.merge(&[&a, &b], &[1.5, -0.5], None),
        Err(MergeError::BadWeights { .. })
    ));
    assert!(matches!(
        Linear.merge(&[&a, &b], &[f64::NAN, 1.0], None),
        Err(MergeError::BadWeights { .. })
    ));
}

#[test]
fn owned_merge_equals_borrowed_to_the_bit() {
    // Parameters larger than one chunk, so the chunked in-place path is exercised.
    let dev = default_device();
    let models: Vec<Dense> = (0..3)
        .map(|k| {
            dev.seed(10 + k);
            LinearConfig::new(300, 200).init(&dev)
        })
        .collect();
    let w = [0.2, 0.3, 0.5];
    let borrowed = Linear
        .merge(&models.iter().collect::<Vec<_>>(), &w, None)
        .unwrap();
    // Fresh copies, so the owned merge holds its buffers alone.
    let copies: Vec<Dense> = models
        .iter()
        .map(|m| {
            let mut d = LinearConfig::new(300, 200).init(&dev);
            d.weight = Param::from_data(m.weight.val().into_data(), &dev);
            d.bias = m
                .bias
                .as_ref()
                .map(|b| Param::from_data(b.val().into_data(), &dev));
            d
        })
        .collect();
    let owned = Linear.merge_owned(copies, &w, None).unwrap();
    assert_eq!(weight(&owned), weight(&borrowed));
    let bias = |m: &Dense| -> Vec<f32> {
        m.bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .iter::<f32>()
            .collect()
    };
    assert_eq!(bias(&owned), bias(&borrowed));
    assert_eq!(owned.weight.val().dims(), [300, 200]);
    // The same checks as the borrowed merge.
    assert!(matches!(
        Linear.merge_owned(models.clone(), &[0.5, 0.6, 0.1], None),
        Err(MergeError::BadWeights { .. })
    ));
    let odd = LinearConfig::new(3, 4).init(&dev);
    assert!(matches!(
        Linear.merge_owned(vec![models[0].clone(), odd], &[0.5, 0.5], None),
        Err(MergeError::ArchitectureMismatch { .. })
    ));
}

#[test]
fn architecture_mismatch_is_typed() {
    let dev = default_device();
    let a = LinearConfig::new(4, 3).init(&dev);
    let b = LinearConfig::new(3, 4).init(&dev);
    assert!(matches!(
        Linear.merge(&[&a, &b], &[0.5, 0.5], None),
        Err(MergeError::ArchitectureMismatch { .. })
    ));
    let c = LinearConfig::new(4, 3).with_bias(false).init(&dev);
    assert!(matches!(
        Linear.merge(&[&a, &c], &[0.5, 0.5], None),
        Err(MergeError::ArchitectureMismatch { .. })
    ));
}

#[test]
fn task_arithmetic_and_ties() {
    let (base, a, b) = (dense(3), dense(4), dense(5));
    let ta = TaskArithmetic { scale: 2.0 }
        .merge(&[&a, &b], &[0.5, 0.5], Some(&base))
        .unwrap();
    let (wb, wa, wbb, wt) = (weight(&base), weight(&a), weight(&b), weight(&ta));
    for i in 0..wb.len() {
        let want = wb[i] + 2.0 * (0.5 * (wa[i] - wb[i]) + 0.5 * (wbb[i] - wb[i]));
        assert!((want - wt[i]).abs() < 1e-5);
    }
    // TIES with density 1 and agreeing signs reduces to a weighted mean of task vectors;
    // with disagreeing signs, only the elected side is averaged.
    let ties = Ties {
        density: 1.0,
        scale: 1.0,
    }
    .merge(&[&a, &b], &[0.5, 0.5], Some(&base))
    .unwrap();
    let wt = weight(&ties);
    for i in 0..wb.len() {
        let (ta, tb) = (wa[i] - wb[i], wbb[i] - wb[i]);
        let elected = (0.5 * ta + 0.5 * tb).signum();
        let agree: Vec<f32> = [ta, tb]
            .into_iter()
            .filter(|t| t.signum() == elected && *t != 0.0)
            .collect();
        let want = wb[i] + agree.iter().sum::<f32>() / agree.len().max(1) as f32;
        assert!((want - wt[i]).abs() < 1e-5, "{i}: {want} vs {}", wt[i]);
    }
    assert!(
        Ties {
            density: 0.0,
            scale: 1.0
        }
        .merge(&[&a], &[1.0], Some(&base))
        .is_err()
    );
}

#[test]
fn trim_keeps_largest() {
    let dev = default_device();
    let t = Tensor::<1>::from_floats([0.1, -3.0, 2.0, -0.5], &dev);
    let v: Vec<f32> = trim(t, 0.5).into_data().iter::<f32>().collect();
    assert_eq!(v, vec![0.0, -3.0, 2.0, 0.0]);
}

#[test]
fn renormalised_weights() {
    assert_eq!(
        renormalised(&[1.0, 1.0, 2.0], &[0, 2]).unwrap(),
        vec![1.0 / 3.0, 2.0 / 3.0]
    );
    assert!(renormalised(&[0.0, 1.0], &[0]).is_err());
}
