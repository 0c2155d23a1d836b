import type { EVENT_CATEGORIES } from '../contract/exchangeRecords.ts';

type Category = (typeof EVENT_CATEGORIES)[number];
export const INCIDENT_SOURCES = ['grid_staff', 'sensor', 'citizen', 'department'] as const;
export type IncidentSource = (typeof INCIDENT_SOURCES)[number];

/** How the simulator draws one category of incident. */
export interface IncidentKind {
  readonly category: Category;
  /** Relative frequency among all incidents. */
  readonly weight: number;
  /** Relative frequency of severities 1..5. */
  readonly severities: readonly [number, number, number, number, number];
  /** Median time from the 'open' report to the 'closed' one, minutes (log-normal spread around it). */
  readonly medianMinutes: number;
  /** Relative frequency of the sources grid_staff, sensor, citizen, department. */
  readonly sources: readonly [number, number, number, number];
  /** Descriptions of the open report; `{road}` is replaced by a road name. */
  readonly texts: readonly string[];
}

/**
 * The incident mix (weights sum to 100: the percentage of incidents of each category), with severities,
 * lifetimes and sources that fit each category. docs/simulator.md shows the same table.
 */
export const INCIDENT_KINDS: readonly IncidentKind[] = [
  {
    category: 'traffic_accident',
    weight: 16,
    severities: [25, 35, 25, 11, 4],
    medianMinutes: 45,
    sources: [35, 15, 40, 10],
    texts: ['{road}两车追尾，占用一条车道', '{road}路口电动车与小汽车刮擦', '{road}发生单车事故，有人受伤'],
  },
  {
    category: 'congestion',
    weight: 18,
    severities: [30, 40, 20, 8, 2],
    medianMinutes: 30,
    sources: [10, 60, 20, 10],
    texts: ['{road}车流缓慢，排队约一公里', '{road}高峰拥堵，车速低于10公里每小时'],
  },
  {
    category: 'road_damage',
    weight: 8,
    severities: [35, 40, 18, 6, 1],
    medianMinutes: 240,
    sources: [55, 10, 30, 5],
    texts: ['{road}路面塌陷，需设置围挡', '{road}井盖缺失', '{road}人行道地砖松动'],
  },
  {
    category: 'fire',
    weight: 2,
    severities: [5, 15, 30, 30, 20],
    medianMinutes: 90,
    sources: [30, 30, 30, 10],
    texts: ['{road}附近商铺冒烟起火', '{road}一住宅楼厨房起火', '{road}路边垃圾桶着火'],
  },
  {
    category: 'flooding',
    weight: 3,
    severities: [10, 25, 30, 25, 10],
    medianMinutes: 180,
    sources: [20, 45, 25, 10],
    texts: ['{road}下穿通道积水约30厘米', '{road}排水不畅，路面积水'],
  },
  {
    category: 'public_order',
    weight: 12,
    severities: [35, 35, 20, 8, 2],
    medianMinutes: 40,
    sources: [45, 5, 40, 10],
    texts: ['{road}商铺门前有人争执', '{road}占道经营，影响通行', '{road}夜间施工噪音扰民'],
  },
  {
    category: 'medical',
    weight: 8,
    severities: [10, 25, 35, 20, 10],
    medianMinutes: 35,
    sources: [30, 0, 60, 10],
    texts: ['{road}公交站有老人晕倒', '{road}行人摔倒需要救护'],
  },
  {
    category: 'environment',
    weight: 9,
    severities: [40, 35, 18, 6, 1],
    medianMinutes: 120,
    sources: [30, 40, 25, 5],
    texts: ['{road}河道有异味', '{road}建筑垃圾乱倒', '{road}工地扬尘超标'],
  },
  {
    category: 'illegal_parking',
    weight: 18,
    severities: [70, 25, 5, 0, 0],
    medianMinutes: 25,
    sources: [55, 20, 25, 0],
    texts: ['{road}机动车违停占用消防通道', '{road}共享单车乱停放', '{road}货车占道卸货'],
  },
  {
    category: 'facility_failure',
    weight: 5,
    severities: [30, 35, 25, 8, 2],
    medianMinutes: 150,
    sources: [30, 30, 20, 20],
    texts: ['{road}交通信号灯故障', '{road}路灯不亮', '{road}公交站牌损坏'],
  },
  {
    category: 'other',
    weight: 1,
    severities: [50, 30, 15, 4, 1],
    medianMinutes: 60,
    sources: [40, 10, 40, 10],
    texts: ['{road}发现无主物品', '{road}其他需协调事项'],
  },
];

/** Roads of Shenzhen, for descriptions. */
export const ROADS = [
  '深南大道',
  '北环大道',
  '滨海大道',
  '红荔路',
  '福华路',
  '南海大道',
  '科苑路',
  '宝安大道',
  '龙岗大道',
  '布吉路',
  '沙河西路',
  '新洲路',
  '彩田路',
  '华强北路',
  '东门中路',
  '沿河路',
  '盐田路',
  '坪山大道',
  '人民南路',
  '前海路',
  '留仙大道',
  '梅林路',
  '民治大道',
  '龙华大道',
  '皇岗路',
  '泥岗路',
  '翠竹路',
];

/** What the 'closed' report says. */
export const CLOSING_TEXTS = ['已处置完毕，恢复正常', '现场已清理', '已移交相关部门处理', '经核实已解决'];

/** Chance that a report of each source names its reporter (personal data): about half of all reports. */
export const REPORTER_CHANCE: Readonly<Record<IncidentSource, number>> = {
  grid_staff: 0.6,
  sensor: 0,
  citizen: 0.9,
  department: 0.2,
};
