/** Page labels in Chinese and English. `t(key)` reads the current language (default Chinese; `?lang=en`). */
const LABELS = {
  title: ['城市运行中心 · 实时地图', 'City operations centre · live map'],
  connection: ['连接', 'Connection'],
  connecting: ['连接中', 'connecting'],
  live: ['实时', 'live'],
  reconnecting: ['重新连接中', 'reconnecting'],
  closed: ['已断开', 'closed'],
  freshness: ['数据延迟', 'Data behind real time'],
  seconds: ['秒', 's'],
  noData: ['暂无数据', 'no data yet'],
  layers: ['图层', 'Layers'],
  vehicles: ['车辆', 'Vehicles'],
  incidents: ['事件', 'Incidents'],
  population: ['人口密度', 'Population density'],
  districts: ['行政区', 'Districts'],
  arcs: ['影响连线', 'Impact arcs'],
  indicator: ['指标', 'Indicator'],
  records_per_min: ['每分钟事件数', 'Events per minute'],
  congestion: ['拥堵指数', 'Congestion'],
  people_present: ['在场人数', 'People present'],
  alerts: ['告警', 'Alerts'],
  firing: ['告警中', 'firing'],
  resolved: ['已解除', 'resolved'],
  noAlerts: ['暂无告警', 'no alerts'],
  districtPanel: ['各区指标', 'District indicators'],
  window: ['时间窗口', 'Time window'],
  liveWindow: ['实时', 'Live'],
  last5: ['近5分钟', 'Last 5 min'],
  last15: ['近15分钟', 'Last 15 min'],
  last60: ['近60分钟', 'Last 60 min'],
  replay: ['回放', 'Replay'],
  historyUnavailable: ['历史数据不可用', 'History unavailable'],
  open: ['处理中', 'open'],
  closedIncident: ['已关闭', 'closed'],
  severity: ['严重程度', 'Severity'],
  category: ['类别', 'Category'],
  impact: ['影响范围', 'Impact'],
  vehiclesNearby: ['附近车辆', 'Vehicles nearby'],
  peoplePresent: ['在场人数', 'People present'],
  nearest: ['最近车辆', 'Nearest vehicles'],
  baseLibraries: ['人口法人房屋（事件发生时）', 'Residents, businesses and buildings (as at the incident)'],
  buildings: ['建筑', 'Buildings'],
  dwellings: ['房屋', 'Dwellings'],
  residentsUnder14: ['14岁以下', 'Under 14'],
  residents14to64: ['14-64岁', '14-64'],
  residents65: ['65岁及以上', '65 and over'],
  legalPersons: ['法人', 'Legal persons'],
  sensitiveSites: ['学校、医院、危化场所', 'Schools, hospitals, hazardous sites'],
  ind_school: ['学校', 'school'],
  ind_hospital: ['医院', 'hospital'],
  ind_chemical: ['化工', 'chemical plant'],
  ind_hazardous_storage: ['危险品仓储', 'hazardous storage'],
  pulse: ['近一小时脉搏', 'Pulse over the last hour'],
  vehiclesSeen: ['车辆数', 'Vehicles seen'],
  meanSpeed: ['平均车速 km/h', 'Mean speed km/h'],
  incidentsOpen: ['未结事件', 'Incidents open'],
  close: ['关闭', 'Close'],
  legend: ['图例', 'Legend'],
  language: ['English', '中文'],
  bus: ['公交', 'bus'],
  metro: ['地铁', 'metro'],
  taxi: ['出租车', 'taxi'],
  tram: ['有轨电车', 'tram'],
  ferry: ['轮渡', 'ferry'],
  bike: ['单车', 'bike'],
  other: ['其他', 'other'],
  noImpact: ['影响分析尚未完成', 'impact not computed yet'],
  governance: ['治理', 'Governance'],
  backToMap: ['返回地图', 'Back to the map'],
  govTitle: ['数据共享治理', 'Data-sharing governance'],
  exchangeToday: ['今日交换', 'Exchanged today'],
  delivered: ['送达', 'delivered'],
  accepted: ['有效', 'accepted'],
  rejected: ['拒收', 'rejected'],
  perDay: ['每日交换量', 'Transactions per day'],
  scorecard: ['提供方评分', 'Provider scores'],
  provider: ['提供方', 'Provider'],
  consumer: ['使用方', 'Consumer'],
  score: ['综合分', 'Score'],
  trend: ['趋势', 'Trend'],
  validity: ['有效性', 'Validity'],
  completeness: ['完整性', 'Completeness'],
  freshnessScore: ['及时性', 'Freshness'],
  answerTime: ['答复时效', 'Answer time'],
  flows: ['交换流向（提供方 → 使用方）', 'Flows, provider → consumer'],
  use: ['使用情况', 'Use'],
  records: ['记录数', 'Records'],
  deliveries: ['交付次数', 'Deliveries'],
  days1: ['今日', 'Today'],
  days7: ['近7天', 'Last 7 days'],
  days30: ['近30天', 'Last 30 days'],
  noFigures: ['暂无数据', 'nothing yet'],
  governanceUnavailable: ['治理数据不可用', 'Governance figures unavailable'],
  cases: ['案件', 'Cases'],
  noCases: ['暂无案件', 'no cases'],
  level: ['运行等级', 'Operating level'],
  case_acknowledge: ['签收', 'Acknowledge'],
  case_start: ['开始处置', 'Start'],
  case_resolve: ['处置完毕', 'Resolve'],
  case_verify: ['核查', 'Verify'],
  case_close: ['结案', 'Close'],
  case_reopen: ['重新打开', 'Reopen'],
  case_assign: ['改派', 'Assign to'],
  caseHandling: ['案件处置', 'Case handling'],
  department: ['部门', 'Department'],
  ackTime: ['签收用时(分)', 'To acknowledge (min)'],
  closeTime: ['结案用时(分)', 'To close (min)'],
  closureRate: ['结案率', 'Closure rate'],
  onTimeRate: ['按时结案率', 'On-time closure'],
  state_opened: ['已立案', 'opened'],
  state_dispatched: ['已派遣', 'dispatched'],
  state_acknowledged: ['已签收', 'acknowledged'],
  state_in_progress: ['处置中', 'in progress'],
  state_resolved: ['已处置', 'resolved'],
  state_verified: ['已核查', 'verified'],
  state_closed: ['已结案', 'closed'],
  cat_traffic_accident: ['交通事故', 'traffic accident'],
  cat_congestion: ['拥堵', 'congestion'],
  cat_road_damage: ['道路损坏', 'road damage'],
  cat_fire: ['火情', 'fire'],
  cat_flooding: ['内涝', 'flooding'],
  cat_public_order: ['治安', 'public order'],
  cat_medical: ['医疗急救', 'medical'],
  cat_environment: ['环境', 'environment'],
  cat_illegal_parking: ['违章停车', 'illegal parking'],
  cat_facility_failure: ['设施故障', 'facility failure'],
  cat_other: ['其他', 'other'],
} as const;

export type LabelKey = keyof typeof LABELS;
export type Language = 'zh' | 'en';

let language: Language = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'zh';
const listeners: Array<() => void> = [];

/** The label of `key` in the current language (the key itself for an unknown one). */
export function t(key: string): string {
  const pair = (LABELS as Record<string, readonly [string, string]>)[key];
  if (!pair) return key.startsWith('cat_') ? key.slice(4).replaceAll('_', ' ') : key;
  return language === 'zh' ? pair[0] : pair[1];
}

export function currentLanguage(): Language {
  return language;
}

/** Switches language and re-renders whatever registered with `onLanguageChange`. */
export function setLanguage(next: Language): void {
  language = next;
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  for (const listener of listeners) listener();
}

export function onLanguageChange(listener: () => void): void {
  listeners.push(listener);
}
