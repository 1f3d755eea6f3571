use super::*;
use crate::TITAN_RESOLUTIONS;

fn nova_ok(w: u32, h: u32) {
    assert!(
        (320..=4096).contains(&w) && (320..=4096).contains(&h),
        "{w}x{h}"
    );
    assert_eq!(w % 16, 0, "{w}x{h}");
    assert_eq!(h % 16, 0, "{w}x{h}");
    assert!(u64::from(w) * u64::from(h) <= 4_194_304, "{w}x{h}");
    assert!(w <= 4 * h && h <= 4 * w, "{w}x{h}");
}

#[test]
fn titan_picks_the_closest_aspect_without_needless_upscaling() {
    let t = |w, h| target_size(Model::TitanV1, w, h);
    assert_eq!(t(1024, 1024), (1024, 1024));
    assert_eq!(t(1000, 1000), (1024, 1024));
    assert_eq!(t(700, 700), (768, 768));
    assert_eq!(t(300, 300), (512, 512));
    assert_eq!(t(5000, 5000), (1024, 1024));
    assert_eq!(t(3000, 2000), (1152, 768));
    assert_eq!(t(500, 333), (576, 384));
    assert_eq!(t(2000, 3000), (768, 1152));
    assert_eq!(t(1920, 1080), (1152, 640)); // 9:5 is closer to 16:9 than 11:6
    assert_eq!(t(1280, 768), (1280, 768));
    // extreme panoramas get the widest/tallest shapes
    assert_eq!(t(10_000, 1000), (1408, 640));
    assert_eq!(t(100, 1000), (640, 1408));
    assert_eq!(t(1, 1), (512, 512));
    assert_eq!(t(3, 1), (704, 320));
    // the v2 list is the same
    assert_eq!(target_size(Model::TitanV2, 3000, 2000), (1152, 768));
}

#[test]
fn titan_targets_are_always_in_the_list() {
    for w in (1..6000).step_by(397) {
        for h in (1..6000).step_by(411) {
            assert!(TITAN_RESOLUTIONS.contains(&target_size(Model::TitanV1, w, h)));
        }
    }
}

#[test]
fn nova_sizes_follow_the_rules() {
    let t = |w, h| target_size(Model::NovaCanvas, w, h);
    assert_eq!(t(1024, 1024), (1024, 1024));
    assert_eq!(t(1000, 1000), (1008, 1008));
    assert_eq!(t(100, 100), (320, 320));
    assert_eq!(t(1920, 1080), (1920, 1088));
    let (w, h) = t(6000, 4000);
    assert!(w * h <= 4_194_304 && w * h > 4_000_000, "{w}x{h}");
    assert!(
        ((f64::from(w) / f64::from(h)) - 1.5).abs() < 0.02,
        "{w}x{h}"
    );
    let (w, h) = t(10_000, 500);
    assert_eq!(w, 4 * h, "{w}x{h}");
    for (w, h) in [
        (1, 1),
        (1, 10_000),
        (10_000, 1),
        (16_000, 16_000),
        (4097, 4095),
        (321, 319),
        (3000, 750),
        (3001, 749),
        (640, 2560),
        (12_345, 6_789),
    ] {
        let (tw, th) = t(w, h);
        nova_ok(tw, th);
    }
}

#[test]
fn fitting_pads_and_centres() {
    let img = RgbImage::from_pixel(300, 200, Rgb([10, 20, 30]));
    let f = fit(&img, Model::TitanV1);
    assert_eq!(f.image.dimensions(), (576, 384));
    assert_eq!(f.transform.scaled_width, 576);
    assert_eq!(f.transform.scaled_height, 384);
    assert_eq!((f.transform.offset_x, f.transform.offset_y), (0, 0));
    assert_eq!(*f.image.get_pixel(300, 200), Rgb([10, 20, 30]));

    // 1920x1080 into 1152x640: 16:9 is a bit narrower than 9:5, pad left and right
    let img = RgbImage::from_pixel(1920, 1080, Rgb([200, 0, 0]));
    let f = fit(&img, Model::TitanV2);
    let t = f.transform;
    assert_eq!((t.width, t.height), (1152, 640));
    assert_eq!((t.scaled_width, t.scaled_height), (1138, 640));
    assert_eq!((t.offset_x, t.offset_y), (7, 0));
    assert_eq!(*f.image.get_pixel(0, 0), PAD_COLOUR);
    assert_eq!(*f.image.get_pixel(1151, 639), PAD_COLOUR);
    assert_eq!(*f.image.get_pixel(7, 0), Rgb([200, 0, 0]));
    assert_eq!(*f.image.get_pixel(576, 320), Rgb([200, 0, 0]));

    // a panorama in Titan: wide padding bands at top and bottom
    let img = RgbImage::from_pixel(4000, 400, Rgb([0, 0, 255]));
    let f = fit(&img, Model::TitanV1);
    let t = f.transform;
    assert_eq!((t.width, t.height), (1408, 640));
    assert_eq!((t.scaled_width, t.scaled_height), (1408, 141));
    assert_eq!(t.offset_y, (640 - 141) / 2);
    assert_eq!(*f.image.get_pixel(10, 10), PAD_COLOUR);
    assert_eq!(*f.image.get_pixel(10, 320), Rgb([0, 0, 255]));
}

#[test]
fn tiny_inputs_are_upscaled_and_exact_sizes_untouched() {
    let img = RgbImage::from_pixel(1, 1, Rgb([1, 2, 3]));
    let f = fit(&img, Model::TitanV1);
    assert_eq!(f.image.dimensions(), (512, 512));
    assert_eq!(*f.image.get_pixel(256, 256), Rgb([1, 2, 3]));
    let f = fit(&img, Model::NovaCanvas);
    assert_eq!(f.image.dimensions(), (320, 320));

    let img = RgbImage::from_fn(1024, 1024, |x, y| Rgb([x as u8, y as u8, 0]));
    let f = fit(&img, Model::TitanV1);
    assert_eq!(f.transform.scale, 1.0);
    assert_eq!(f.image, img);
}

#[test]
fn huge_inputs_are_scaled_down() {
    let img = RgbImage::from_pixel(8000, 6000, Rgb([9, 9, 9]));
    let f = fit(&img, Model::NovaCanvas);
    let (w, h) = f.image.dimensions();
    nova_ok(w, h);
    assert!(f.transform.scale < 0.3);
}

#[test]
fn halving_averages_blocks() {
    let img = RgbImage::from_fn(5, 4, |x, y| Rgb([(x * 10) as u8, (y * 10) as u8, 7]));
    let h = halve(&img);
    assert_eq!(h.dimensions(), (2, 2));
    assert_eq!(*h.get_pixel(0, 0), Rgb([5, 5, 7]));
    assert_eq!(*h.get_pixel(1, 1), Rgb([25, 25, 7]));
    let d = downscale(
        &RgbImage::from_pixel(3000, 2000, Rgb([50, 60, 70])),
        1152,
        768,
    );
    assert_eq!(d.dimensions(), (1152, 768));
    assert_eq!(*d.get_pixel(600, 400), Rgb([50, 60, 70]));
    // resampling keeps flat colours exact, including at the edges, both ways
    for (w, h) in [(1, 1), (7, 3), (1000, 999), (2512, 1680)] {
        let r = resample(&RgbImage::from_pixel(1234, 777, Rgb([1, 128, 255])), w, h);
        assert_eq!(r.dimensions(), (w, h));
        assert!(r.pixels().all(|p| *p == Rgb([1, 128, 255])), "{w}x{h}");
    }
    let up = resample(
        &RgbImage::from_fn(2, 1, |x, _| Rgb([x as u8 * 200, 0, 0])),
        8,
        1,
    );
    let reds: Vec<u8> = up.pixels().map(|p| p[0]).collect();
    assert!(reds.windows(2).all(|w| w[0] <= w[1]), "{reds:?}");
    assert_eq!((reds[0], reds[7]), (0, 200));
}

#[test]
fn boxes_map_through_scale_and_offset() {
    let t = Transform {
        source_width: 200,
        source_height: 100,
        width: 512,
        height: 512,
        scale: 2.56,
        scaled_width: 512,
        scaled_height: 256,
        offset_x: 0,
        offset_y: 128,
    };
    assert_eq!(t.map_fractions(0.0, 0.0, 1.0, 1.0), (0, 128, 512, 384));
    assert_eq!(t.map_fractions(0.25, 0.5, 0.5, 0.25), (128, 256, 384, 320));
    // out of range values are clamped to the image
    assert_eq!(t.map_fractions(0.9, 0.9, 0.5, 0.5), (460, 358, 512, 384));
}
