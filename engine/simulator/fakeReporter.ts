import type { SeededRandom } from './SeededRandom.ts';

/** Who reported an incident: fake, but formatted like real personal data, so masking can be tested on it. */
export interface FakeReporter {
  /** A Chinese name, e.g. '王建华'. */
  name: string;
  /** An 11-digit mainland mobile number, e.g. '13812345678'. */
  phone?: string;
  /** An 18-character resident ID number with a valid check character, e.g. '44030519850317123X'. */
  id_number?: string;
}

const SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢';
const GIVEN =
  '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉斌波宇浩凯鹏飞俊峰婷雪梅琳晨阳欣怡子涵梓轩思雨家豪嘉怡';
const MOBILE_PREFIXES = [
  '130',
  '131',
  '132',
  '133',
  '134',
  '135',
  '136',
  '137',
  '138',
  '139',
  '150',
  '151',
  '152',
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '166',
  '176',
  '177',
  '178',
  '180',
  '181',
  '182',
  '183',
  '185',
  '186',
  '187',
  '188',
  '189',
  '191',
  '198',
  '199',
];
/** Shenzhen's district codes, and a few provinces many Shenzhen residents were born in. */
const AREA_CODES = [
  '440303',
  '440304',
  '440305',
  '440306',
  '440307',
  '440308',
  '440309',
  '440310',
  '440106',
  '441302',
  '445102',
  '430102',
  '420106',
  '360102',
  '450102',
  '510104',
  '350102',
  '410105',
];
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** A fake mobile number: a real carrier prefix and eight random digits. */
export function fakePhone(random: SeededRandom): string {
  return `${random.pick(MOBILE_PREFIXES)}${String(random.int(100_000_000)).padStart(8, '0')}`;
}

/** A fake resident ID number (GB 11643): area, birth date 1955-2004, sequence, ISO 7064 MOD 11-2 check. */
export function fakeIdNumber(random: SeededRandom): string {
  const year = 1955 + random.int(50);
  const month = 1 + random.int(12);
  const day = 1 + random.int(28);
  return residentIdNumber(random.pick(AREA_CODES), `${year}${pad2(month)}${pad2(day)}`, random.int(1000));
}

/** A resident ID number for an area code, a birth date (YYYYMMDD) and a sequence in [0, 1000), with its check. */
export function residentIdNumber(area: string, birthDate: string, sequence: number): string {
  const body = `${area}${birthDate}${String(sequence).padStart(3, '0')}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * ID_WEIGHTS[i]!;
  return `${body}${ID_CHECK[sum % 11]}`;
}

/** A Chinese name: a common surname and one or two given characters. */
export function fakeName(random: SeededRandom): string {
  const givenLength = random.chance(0.7) ? 2 : 1;
  let name = SURNAMES[random.int(SURNAMES.length)]!;
  for (let i = 0; i < givenLength; i++) name += GIVEN[random.int(GIVEN.length)]!;
  return name;
}

/**
 * A fake reporter: a name always, a mobile number for 95 %, an ID number for 60 %. Generated, never real
 * people; still treated as personal data by the engine (kept in the restricted database only).
 */
export function fakeReporter(random: SeededRandom): FakeReporter {
  const reporter: FakeReporter = { name: fakeName(random) };
  if (random.chance(0.95)) reporter.phone = fakePhone(random);
  if (random.chance(0.6)) reporter.id_number = fakeIdNumber(random);
  return reporter;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
