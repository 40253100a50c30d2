//! Welch's t statistic for the `timing` check: are answers to a signature wrong in its
//! first byte faster or slower than to one wrong in its last byte?

/// |t| above this in both rounds, with the same sign, fails the check.
pub const THRESHOLD: f64 = 10.0;

/// Welch's t of two samples after dropping, from both, what lies above the pooled 90th
/// percentile (network hiccups and scheduler pauses, which only add noise); `None`
/// with fewer than 5 samples left on either side.
pub fn welch_t(a: &[f64], b: &[f64]) -> Option<f64> {
    let mut pooled: Vec<f64> = a.iter().chain(b).copied().filter(|x| x.is_finite()).collect();
    pooled.sort_by(f64::total_cmp);
    let cut = *pooled.get(pooled.len().saturating_mul(9) / 10)?;
    let keep = |s: &[f64]| -> Vec<f64> { s.iter().copied().filter(|x| x.is_finite() && *x <= cut).collect() };
    let (a, b) = (keep(a), keep(b));
    if a.len() < 5 || b.len() < 5 {
        return None;
    }
    let (ma, va) = mean_var(&a);
    let (mb, vb) = mean_var(&b);
    let se = (va / a.len() as f64 + vb / b.len() as f64).sqrt();
    if se == 0.0 {
        return Some(if ma == mb { 0.0 } else { (ma - mb).signum() * f64::INFINITY });
    }
    Some((ma - mb) / se)
}

/// The mean and the sample variance (n - 1).
fn mean_var(s: &[f64]) -> (f64, f64) {
    let n = s.len() as f64;
    let mean = s.iter().sum::<f64>() / n;
    let var = s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Whether two rounds' statistics show a difference: both beyond the threshold, same sign.
pub fn leaks(t1: f64, t2: f64) -> bool {
    t1.abs() > THRESHOLD && t2.abs() > THRESHOLD && t1.signum() == t2.signum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_t_of_known_samples() {
        let a = [10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2, 9.8, 10.1, 9.9];
        let t = welch_t(&a, &a).unwrap();
        assert_eq!(t, 0.0);
        let b: Vec<f64> = a.iter().map(|x| x + 5.0).collect();
        let t = welch_t(&a, &b).unwrap();
        assert!(t < -THRESHOLD, "{t}");
        assert!(welch_t(&a[..3], &b).is_none());
        assert!(leaks(-12.0, -30.0));
        assert!(!leaks(-12.0, 30.0));
        assert!(!leaks(-12.0, -3.0));
        let same = [1.0; 10];
        assert_eq!(welch_t(&same, &same), Some(0.0));
    }

    #[test]
    fn outliers_above_the_90th_percentile_are_dropped() {
        let mut a = vec![10.0; 20];
        let b = vec![10.0; 20];
        a[0] = 1e9;
        assert_eq!(welch_t(&a, &b), Some(0.0));
    }
}
