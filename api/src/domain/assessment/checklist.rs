//! The standard checklist (测评标准) of each point type, after the national assessment
//! manual's field-inspection items (实地考察). A point that carries its own criteria is
//! assessed on those; any other point gets its type's standard list.

use spatial::patrol::Criterion;

/// One checklist line: id, text, weight.
type Line = (&'static str, &'static str, f64);

/// The lines of each type; types not listed share [`GENERAL`].
const STANDARD: &[(&str, &[Line])] = &[
    (
        "back_street",
        &[
            ("BS1", "路面硬化平整、无坑洼破损 (paved, no potholes)", 1.0),
            ("BS2", "无暴露垃圾、无卫生死角 (no exposed garbage)", 1.0),
            ("BS3", "无明沟暗渠、排水通畅 (no open drain)", 1.0),
            ("BS4", "路灯安装率100%、亮灯率≥95% (lamps installed 100%, ≥95% lit)", 1.0),
            ("BS5", "无乱贴乱画乱挂 (no illegal small ads)", 1.0),
            ("BS6", "无占道经营、乱堆乱放 (no street occupation)", 1.0),
        ],
    ),
    (
        "main_road",
        &[
            ("MR1", "路面整洁、无暴露垃圾 (clean, no exposed garbage)", 1.0),
            ("MR2", "每200米至少1处公益广告 (≥1 public-service ad per 200 m)", 1.0),
            ("MR3", "机动车、非机动车有序停放 (orderly parking)", 1.0),
            ("MR4", "无占道经营、出店经营 (no street occupation)", 1.0),
            ("MR5", "交通标志标线清晰 (clear signs and markings)", 1.0),
            ("MR6", "行人遵守交通信号 (pedestrians obey signals)", 1.0),
        ],
    ),
    (
        "secondary_road",
        &[
            ("SR1", "路面整洁、无暴露垃圾 (clean, no exposed garbage)", 1.0),
            ("SR2", "公益广告设置规范 (public-service ads in place)", 1.0),
            ("SR3", "车辆有序停放 (orderly parking)", 1.0),
            ("SR4", "无占道经营 (no street occupation)", 1.0),
        ],
    ),
    (
        "commercial_street",
        &[
            ("CS1", "店招店牌规范整洁 (tidy shop signs)", 1.0),
            ("CS2", "无出店经营、占道经营 (no trading on the pavement)", 1.0),
            ("CS3", "门前三包落实 (frontage responsibility kept)", 1.0),
            ("CS4", "公益广告醒目 (public-service ads visible)", 1.0),
            ("CS5", "无暴露垃圾 (no exposed garbage)", 1.0),
        ],
    ),
    (
        "intersection",
        &[
            ("IN1", "行人、车辆遵守交通信号 (signals obeyed)", 1.0),
            ("IN2", "有交通文明引导员 (a civility guide on duty)", 1.0),
            ("IN3", "无乱停乱放 (no disorderly parking)", 1.0),
        ],
    ),
    (
        "market",
        &[
            ("MK1", "划行归市、摊位整齐 (stalls in order by trade)", 1.0),
            ("MK2", "地面无积水、无垃圾 (dry floor, no garbage)", 1.0),
            ("MK3", "活禽宰杀区隔离 (live-poultry area separated)", 1.0),
            ("MK4", "公平秤设置、计量准确 (public scale in place)", 1.0),
            ("MK5", "无店外经营、周边无占道 (no trading outside)", 1.0),
            ("MK6", "公益广告、价格公示上墙 (ads and price boards posted)", 1.0),
        ],
    ),
    (
        "old_compound",
        &[
            ("OC1", "无乱搭乱建 (no illegal structures)", 1.0),
            ("OC2", "无楼道堆物、飞线充电 (no clutter or flying charging cables)", 1.0),
            ("OC3", "垃圾分类设施齐全 (sorted-waste bins in place)", 1.0),
            ("OC4", "绿化无毁损、无种菜 (green space kept)", 1.0),
            ("OC5", "车辆有序停放 (orderly parking)", 1.0),
            ("OC6", "公益广告、文明宣传 (civility publicity)", 1.0),
        ],
    ),
    (
        "residential_compound",
        &[
            ("RC1", "环境整洁、无暴露垃圾 (clean, no exposed garbage)", 1.0),
            ("RC2", "垃圾分类设施齐全 (sorted-waste bins in place)", 1.0),
            ("RC3", "车辆有序停放 (orderly parking)", 1.0),
            ("RC4", "公益广告、文明宣传 (civility publicity)", 1.0),
        ],
    ),
    (
        "public_toilet",
        &[
            ("PT1", "无异味、地面干净 (no smell, clean floor)", 1.0),
            ("PT2", "设施完好、有洗手液 (fittings intact, soap)", 1.0),
            ("PT3", "开放时间公示、有人管理 (hours posted, attended)", 1.0),
            ("PT4", "无障碍设施可用 (accessible facilities)", 1.0),
        ],
    ),
    (
        "bus_stop",
        &[
            ("BU1", "站台整洁、无小广告 (clean shelter, no small ads)", 1.0),
            ("BU2", "候车秩序良好 (orderly queueing)", 1.0),
            ("BU3", "公益广告 (public-service ad)", 1.0),
        ],
    ),
    (
        "school_surroundings",
        &[
            ("SS1", "200米内无网吧、歌舞厅 (no internet café or dance hall within 200 m)", 1.0),
            ("SS2", "无流动摊贩 (no street vendors)", 1.0),
            ("SS3", "上下学交通秩序良好 (orderly traffic at school times)", 1.0),
        ],
    ),
    (
        "construction_site",
        &[
            ("CO1", "围挡完好、公益广告上墙 (hoarding intact, ads posted)", 1.0),
            ("CO2", "裸土覆盖、洒水降尘 (bare soil covered, dust damped)", 1.0),
            ("CO3", "车辆冲洗、出口无带泥 (wheel wash, no mud at the gate)", 1.0),
        ],
    ),
    (
        "park",
        &[
            ("PK1", "环境整洁、无暴露垃圾 (clean, no exposed garbage)", 1.0),
            ("PK2", "设施完好 (facilities intact)", 1.0),
            ("PK3", "无不文明行为 (no uncivil behaviour)", 1.0),
            ("PK4", "公益广告 (public-service ads)", 1.0),
        ],
    ),
    (
        "refuse_station",
        &[
            ("RS1", "站内外整洁、无渗滤液 (clean, no leachate)", 1.0),
            ("RS2", "作业时段密闭 (closed while working)", 1.0),
            ("RS3", "除臭消杀到位 (deodorised and disinfected)", 1.0),
        ],
    ),
    (
        "community_committee",
        &[
            ("CC1", "道德讲堂、志愿服务站 (ethics hall, volunteer station)", 1.0),
            ("CC2", "公益广告、宣传栏 (publicity boards)", 1.0),
            ("CC3", "办公场所整洁 (tidy office)", 1.0),
        ],
    ),
];

/// For every other type: the items every public place is checked on.
const GENERAL: &[Line] = &[
    ("GN1", "环境整洁、无暴露垃圾 (clean, no exposed garbage)", 1.0),
    ("GN2", "公益广告醒目 (public-service ads visible)", 1.0),
    ("GN3", "秩序良好、无不文明行为 (orderly, no uncivil behaviour)", 1.0),
    ("GN4", "设施完好 (facilities intact)", 1.0),
];

/// The standard checklist of a point type.
pub fn standard(kind: &str) -> Vec<Criterion> {
    let items = STANDARD.iter().find(|(k, _)| *k == kind).map_or(GENERAL, |(_, items)| *items);
    items
        .iter()
        .map(|&(id, text, weight)| Criterion { id: id.into(), text: text.into(), weight, category: None })
        .collect()
}

/// The checklist a point is assessed on: its own criteria, else its type's standard.
pub fn for_point(kind: &str, own: &[Criterion]) -> Vec<Criterion> {
    if own.is_empty() {
        standard(kind)
    } else {
        own.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_checklist_with_unique_ids() {
        for (kind, _) in spatial::patrol::POINT_KINDS {
            let list = standard(kind);
            assert!(list.len() >= 3, "{kind}");
            let mut ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), list.len(), "{kind}");
        }
        assert!(STANDARD.iter().all(|(k, _)| spatial::patrol::point_kind(k).is_some()), "known types only");
    }

    #[test]
    fn a_point_with_its_own_criteria_keeps_them() {
        let own = vec![Criterion { id: "X".into(), text: "x".into(), weight: 2.0, category: None }];
        assert_eq!(for_point("market", &own), own);
        assert_eq!(for_point("market", &[])[0].id, "MK1");
    }
}
