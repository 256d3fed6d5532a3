//! Time targeting: the presets and the days x hours grid editor.
//!
//! The editor is an inline keyboard: a week view (one button per day, with its
//! open hours counted) and a day view (24 hour cells, 6 per row). Telegram
//! allows at most 100 buttons per keyboard and 8 per row; both views stay far
//! below (tested).

use serde::{Deserialize, Serialize};

use crate::domain::schedule::Schedule;

/// The schedule buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Always,
    Weekdays,
    /// Monday to Friday, 09:00-17:59.
    WorkHours,
    Weekends,
    /// Open the grid editor.
    Custom,
}

/// Hours 9-18 (half-open), as a day mask.
const WORK_HOURS: u32 = 0b11_1111_1110_0000_0000;
pub const ALL_DAY: u32 = (1 << 24) - 1;

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Always,
        Preset::Weekdays,
        Preset::WorkHours,
        Preset::Weekends,
        Preset::Custom,
    ];

    pub fn index(self) -> u8 {
        Preset::ALL.iter().position(|p| *p == self).unwrap_or(0) as u8
    }

    pub fn from_index(i: u8) -> Option<Preset> {
        Preset::ALL.get(i as usize).copied()
    }

    /// The schedule a preset stands for (None: the editor).
    pub fn schedule(self) -> Option<Schedule> {
        match self {
            Preset::Always => Some(Schedule::Always),
            Preset::Weekdays => Some(Schedule::Weekdays),
            Preset::WorkHours => {
                let mut g = [0; 7];
                g[..5].fill(WORK_HOURS);
                Some(Schedule::Grid(g))
            }
            Preset::Weekends => Some(Schedule::Weekends),
            Preset::Custom => None,
        }
    }
}

/// The grid a schedule opens the editor with.
pub fn grid_of(s: &Schedule) -> [u32; 7] {
    match s {
        Schedule::Always => [ALL_DAY; 7],
        Schedule::Weekdays => [ALL_DAY, ALL_DAY, ALL_DAY, ALL_DAY, ALL_DAY, 0, 0],
        Schedule::Weekends => [0, 0, 0, 0, 0, ALL_DAY, ALL_DAY],
        Schedule::Grid(g) => *g,
    }
}

pub fn toggle_hour(grid: &mut [u32; 7], day: u8, hour: u8) {
    if let Some(d) = grid.get_mut(day as usize) {
        *d ^= 1 << (hour % 24);
    }
}

pub fn set_day(grid: &mut [u32; 7], day: u8, mask: u32) {
    if let Some(d) = grid.get_mut(day as usize) {
        *d = mask & ALL_DAY;
    }
}

/// Copies one day's hours to Monday-Friday.
pub fn copy_to_weekdays(grid: &mut [u32; 7], day: u8) {
    let mask = grid.get(day as usize).copied().unwrap_or(0);
    grid[..5].fill(mask);
}

pub fn is_empty(grid: &[u32; 7]) -> bool {
    grid.iter().all(|d| d & ALL_DAY == 0)
}

pub fn is_open(grid: &[u32; 7], day: u8, hour: u8) -> bool {
    grid.get(day as usize)
        .is_some_and(|d| d & (1 << (hour % 24)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        let Some(Schedule::Grid(g)) = Preset::WorkHours.schedule() else {
            panic!()
        };
        assert_eq!(Schedule::Grid(g), Schedule::parse("mon-fri 9-18").unwrap());
        assert_eq!(Preset::Custom.schedule(), None);
        for p in Preset::ALL {
            assert_eq!(Preset::from_index(p.index()), Some(p));
        }
    }

    #[test]
    fn editing() {
        let mut g = [0; 7];
        assert!(is_empty(&g));
        toggle_hour(&mut g, 2, 9);
        assert!(is_open(&g, 2, 9) && !is_open(&g, 2, 10));
        toggle_hour(&mut g, 2, 9);
        assert!(is_empty(&g));
        set_day(&mut g, 6, ALL_DAY);
        assert_eq!(g[6].count_ones(), 24);
        toggle_hour(&mut g, 0, 23);
        copy_to_weekdays(&mut g, 0);
        assert!((0..5).all(|d| g[d] == 1 << 23));
        assert_eq!(g[6], ALL_DAY);
        set_day(&mut g, 9, ALL_DAY); // out of range: ignored, no panic
        assert_eq!(grid_of(&Schedule::Weekends)[5], ALL_DAY);
    }
}
