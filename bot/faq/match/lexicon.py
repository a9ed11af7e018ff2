"""Domain concepts and the ways users name them in kk, ru, ko, en.

Character n-grams match inflected forms and typos of the same word; they cannot see that
"подделка", "фейк", "контрафакт", "жалған", "짝퉁" and "knockoff" mean one thing. Each concept
below lists its names; a text mentioning one gets the concept as a feature, in every language
alike. So the matcher can compare a question with an entry's phrasings in all four languages
at once, and synonyms, slang and abbreviations meet.

Most concepts are specific to IP ("trademark", "customs", "counterfeit"); those marked
"(generic)" ("fee", "how long", "court") also occur in questions about anything else ("how
much is a taxi", "how long does a visa take"). A question that names no specific concept is
unlikely to be about the FAQ's subject. Concepts marked "(off-topic)" name the subjects next
to it that no entry covers and users still ask about (company registration, visas, taxes,
labour law, personal-data law ...); such a question, unless it also names a specific
concept ("VAT on trademark fees"), gets no confident answer.

Syntax, one concept per block: the concept's name, then indented lines per language with
alternatives separated by "|" (a language may take several lines). A Cyrillic or Latin
alternative is a sequence of words; a word ending in "*" matches any word it begins
("товарн*" matches "товарного"), other words match exactly. Kazakh letters may be written as
they are (they are folded like the text: қ→к, і→и ...). A Hangul alternative matches anywhere
in the words joined without spaces.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.faq.match.text import is_hangul, words

__all__ = ["LEXICON", "Lexicon"]

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Words whose candidate names are remembered; questions bring new words, so the cache is capped.
_CACHE_LIMIT = 50_000

LEXICON = """
trademark
  ru: товарн* знак* | торгов* марк* | бренд* | знак | знака | знаку | знаком | знаки | тм | тз
  ru: логотип* | марка | марки | марку | маркой | марок | марке
  kk: тауар белгі* | тауар таңба* | сауда марка* | бренд* | белгі | белгіні | белгінің | белгіге
  kk: белгісі* | таңба* | логотип* | марка*
  ko: 상표 | 브랜드 | 로고
  en: trademark* | trade mark* | brand* | mark | marks | tm | logo*
logo
  ru: логотип* | эмблем*
  kk: логотип* | эмблема*
  ko: 로고 | 엠블럼 | 엠블렘
  en: logo* | emblem*
patent
  ru: патент* | запатент*
  kk: патент*
  ko: 특허
  en: patent*
invention (generic)
  ru: изобрет* | разработк* | устройств* | прибор* | технолог*
  kk: өнертабыс* | құрылғы* | технология*
  ko: 발명 | 신기술 | 기술 | 장치 | 기기
  en: invent* | device* | gadget* | technolog*
utility_model
  ru: полезн* модел* | пм | полезк* | мал* патент*
  kk: пайдалы модел*
  ko: 실용신안
  en: utility model* | petty patent* | small patent*
design
  ru: промышлен* образ* | дизайн* | внешн* вид* | форм* изделия | упаковк*
  kk: өнеркәсіптік үлгі* | дизайн* | сыртқы түр* | қаптама* | пішін*
  ko: 디자인 | 외관 | 포장 | 모양 | 형태
  en: industrial design* | design | designs | designed | look | looks | appearance | shape
  en: packaging
copyright
  ru: авторск* | авторк* | произведен* | пиратск* | пиратств* | бернск*
  kk: авторлық* | шығарма* | қарақшы* | берн*
  ko: 저작권 | 저작물 | 저작자 | 불법복제 | 불법 복제 | 베른
  en: copyright* | authorship | piracy | pirated | literary work* | berne
software (generic)
  ru: программ* | код | кода | коду | кодом | исходн* код* | приложени* | эвм
  kk: бағдарлама* | код | кодын | кодқа | кодты | жасақтама*
  ko: 소프트웨어 | 프로그램 | 소스코드 | 코드 | 앱
  en: software | program* | code | app | apps
trade_secret
  ru: коммерческ* тайн* | тайн* | ноу хау | конфиденциальн* | секрет* | рецептур* | nda
  kk: коммерциялық құпия* | құпия* | ноу хау | nda
  ko: 영업비밀 | 노하우 | 기밀 | 비밀유지 | 비밀 유지 | 제조 공정 | 배합비 | 제조법
  en: trade secret* | secret* | know how | confidential* | nda | ndas | formula
geo_indication
  ru: географическ* указан* | гу | нмпт | мест* происхожден* | наименован* мест* | регион*
  kk: географиялық* | шығарылған жер* | шығу тегі* | шыққан жер* | аймақ* | өңір*
  ko: 지리적 표시 | 지리적표시 | 원산지 | 특산 | 산지 | 생산지 | 지역명
  en: geographical indication* | gi | gis | appellation* | origin | region* | regional
domain
  ru: домен* | киберсквот* | udrp | kaznic | казник
  kk: домен* | киберсквот*
  ko: 도메인 | 사이버스쿼팅 | 카즈닉
  en: domain* | cybersquat* | udrp | kaznic | kzdomain
customs
  ru: тамож* | растамож* | кгд | границ* | груз* | контейнер* | партию | партия
  kk: кеден* | шекара* | жүк* | контейнер*
  ko: 세관 | 통관 | 화물 | 컨테이너
  en: customs | custom | border | recordal | recordation | shipment* | container* | cargo
counterfeit
  ru: контрафакт* | подделк* | поддельн* | фейк* | паленк* | палён* | копи* | реплик*
  kk: контрафакт* | жалған* | жасанды* | қолдан жасалған
  ko: 위조 | 짝퉁 | 가품 | 모조 | 가짜 | 복제품
  en: counterfeit* | fake | fakes | knockoff* | knock off* | replica*
online (generic)
  ru: интернет* | сайт* | маркетплейс* | соцсет* | инстаграм* | kaspi | каспи* | wildberries
  ru: ozon | онлайн* | контент* | тикток* | фейсбук* | ютуб* | телеграм*
  kk: интернет* | сайт* | маркетплейс* | әлеуметтік желі* | инстаграм* | kaspi | каспи*
  kk: онлайн* | контент* | тикток* | фейсбук* | ютуб* | телеграм*
  ko: 온라인 | 인터넷 | 사이트 | 마켓플레이스 | 오픈마켓 | 인스타그램 | 카스피 | 콘텐츠 | 게시물
  ko: 틱톡 | 페이스북 | 유튜브 | 텔레그램 | 소셜미디어
  en: online | internet | website* | site | sites | marketplace* | social media | instagram
  en: kaspi | takedown* | listing* | content | sns | tiktok | facebook | youtube | telegram
block_remove (generic)
  ru: заблокир* | блокир* | удален* | удалить | удалени*
  kk: бұғатта* | өшір*
  ko: 차단 | 삭제
  en: block* | takedown* | take down | remove* | removal
court (generic)
  ru: суд | суда | суде | судом | суды | судов | судах | судам | судебн* | иск | иска | иске
  ru: иском | иски | отсуд*
  ru: исков*
  ru: давност*
  kk: сот | сотқ* | сотт* | сотпен | талап арыз* | талап қою*
  ko: 법원 | 소송 | 재판 | 소멸시효
  en: court* | sue | suing | lawsuit* | litigation | limitation period* | statute of limitation*
damages (generic)
  ru: компенсац* | убыт* | возмещ* | взыск* | ущерб*
  kk: өтемақы* | залал* | шығын* | өндіріп
  ko: 손해배상 | 배상 | 보상 | 손해
  en: damages | compensation | lost profit*
penalty (generic)
  ru: штраф* | наказан* | ответственност* | посад* | уголовн* | коап | мрп | конфиск*
  ru: ук | ук рк | грозит | грозят
  ru: административн*
  kk: айыппұл* | жаза* | жауапкершілік* | қылмыстық* | әқбтк | тәркіле* | түрме* | қк
  ko: 벌금 | 처벌 | 형사 | 몰수 | 행정위반 | 형법
  en: fine | fines | penalt* | punish* | criminal | liability | confiscat* | prison | jail
  en: criminal code
fee (generic)
  ru: стоимост* | сколько стоит | сколько стоят | во сколько | цена | цену | цены | ценник*
  ru: пошлин* | тариф* | оплат* | плата | платы | платить | платим | платеж* | доплат* | расход*
  ru: прейскурант* | обойдет* | деньг*
  kk: тұрады | баға* | ақы* | алым* | төлем* | төле* | баж* | прейскурант* | ақша*
  ko: 비용 | 수수료 | 가격 | 관납료 | 요금 | 얼마예요 | 얼마에요 | 얼마인 | 얼마 드 | 얼마나 드
  ko: 얼마 내 | 얼마나 내 | 가격표 | 돈
  en: cost* | fee | fees | price* | pay | paid | paying | payment* | how much | tariff*
processing_time (generic)
  ru: сколько времени | как долго | как быстро | сколько длится | сколько идет | месяц*
  ru: сколько ждать | дней | дня
  kk: қанша уақыт* | қанша күн* | ай | айда | айға | айдан | неше күн* | неше ай*
  ko: 얼마나 걸 | 걸리 | 걸려 | 며칠 | 몇 달 | 몇 개월 | 처리 기간 | 심사 기간
  en: take | takes | months | timeline | how fast | how many days
validity (generic)
  ru: срок* | сколько лет | действ* | истека* | истек* | лет
  kk: мерзім* | қанша жыл* | неше жыл* | жарамды* | күшінде
  ko: 존속기간 | 유효기간 | 보호기간 | 몇 년 | 만료 | 기간 | 유효
  en: valid* | validity | last | lasts | term | expire* | expiry | years
renewal (generic)
  ru: продл* | продлен*
  kk: ұзарт*
  ko: 갱신 | 연장
  en: renew* | extend* | extension* | prolong*
register (generic)
  ru: регистр* | зарегистр* | заявк* | подать | подаем | оформ* | госреестр*
  kk: тіркеу* | тірке* | тіркел* | тіркет* | өтінім*
  ko: 등록 | 출원 | 신청
  en: regist* | file | filing | apply | application* | record*
search (generic)
  ru: провер* | поиск* | база | базы | базе | базу | базой | найти | свобод* | занят*
  ru: посмотреть | узнать
  kk: тексер* | іздеу* | база | базадан | базасы* | базаға | базада | бос | білу*
  ko: 검색 | 조회 | 확인 | 조사 | 선행조사 | 데이터베이스
  en: search* | check* | look up | database* | taken | available | clearance
representative
  ru: поверенн* | представител* | доверенност* | агент*
  kk: өкіл* | сенімхат* | сенім білдірілген*
  ko: 대리인 | 변리사 | 위임장
  en: attorney* | representative* | agent | agents | power of attorney | poa
committee
  ru: комитет* | минюст* | министерств* юстиц* | политик*
  kk: комитет* | әділет министрлігі* | саясат*
  ko: 위원회 | 법무부 | 정책
  en: committee* | ministry of justice | justice ministry | policy
niip
  ru: ниис | казпатент* | qazpatent | kazpatent | институт* | ведомств*
  kk: ұзми* | казпатент* | qazpatent | kazpatent | институт* | ведомство*
  ko: 카즈패턴트 | 카즈파텐트 | 카즈페턴트 | 국가지식재산연구원 | 연구원 | 특허청
  en: niip | kazpatent | qazpatent | institute | patent office
contacts (generic)
  ru: телефон* | номер* | адрес* | email | e mail | почта | почты | почту | почтой | почте
  ru: контакт* | связат* | связь | позвон* | поговорить | достучат* | дозвон* | колл центр*
  ru: горяч* лини*
  kk: телефон* | нөмір* | мекенжай* | пошта* | байланыс* | хабарлас* | сөйлес* | қоңырау*
  kk: колл орталы* | сенім телефон*
  ko: 전화 | 번호 | 연락 | 이메일 | 주소 | 메일 | 얘기 | 이야기 | 통화 | 콜센터 | 상담전화
  en: phone* | telephone* | number | address* | email | e mail | contact* | call | talk to
  en: reach | speak to | real person | call cent* | hotline*
staff (generic)
  ru: сотрудник* | специалист* | оператор* | живой | живому | живым | живого | консультант*
  kk: қызметкер* | маман*
  ko: 상담원 | 담당자 | 직원 | 상담
  en: staff | human | operator | person | team | someone
complaint (generic)
  ru: жалоб* | обращени* | пожаловат* | сообщить
  kk: шағым* | арыз* | өтініш*
  ko: 신고 | 민원 | 접수 | 문의
  en: complaint* | report* | request*
bot
  ru: бот | бота | боту | ботом | боте | боты | ботов | ботам | ботах | чатбот* | чат*
  kk: бот | боттың | ботқа | ботты | боттан | ботта | ботпен | боттар* | чатбот* | чат*
  ko: 봇 | 챗봇 | 채팅 | 대화
  en: bot | chatbot | chat
personal_data (generic)
  ru: данн* | персональн* | переписк* | информаци* обо мне
  kk: дерек* | мәлімет* | хат хабар*
  ko: 개인정보 | 데이터 | 내 정보 | 제 정보 | 대화 내용
  en: data | personal | privacy | chat history | information you hold
delete_data
  ru: удал* | стереть | сотрите | сотрут | стерет*
  kk: дерек* жою* | мәлімет* жою* | өшір*
  ko: 삭제 | 지워
  en: delete* | erase* | remove my
madrid
  ru: мадрид* | международн* регистрац* | воис | wipo | указан* казахстан*
  kk: мадрид* | халықаралық тіркеу* | халықаралық өтінім* | wipo
  ko: 마드리드 | 국제등록 | 국제출원 | 국제상표 | 지정
  en: madrid | international registration* | wipo | designat*
well_known
  ru: общеизвестн* | известн* | узнаваем* | опрос* | соцопрос* | респондент*
  kk: жалпыға белгілі* | жалпыға танымал* | танымал* | сауалнама* | сұрау жүргізу
  ko: 저명 | 유명 | 인지도 | 설문
  en: well known | famous | survey* | reputation | renowned
opposition
  ru: возраж* | оппозиц* | оспор* | оспар* | аннулир* | недействит* | неиспользован* | отмен*
  ru: снять
  kk: қарсылық* | наразылық* | жарамсыз* | күшін жою* | даула* | қолданылмаған*
  kk: пайдаланылмаған* | қолданбай
  ko: 이의 | 무효 | 취소 | 불사용
  en: oppos* | object* | invalidat* | cancel* | non use | challenge* | unused
squatting
  ru: дистрибьютор* | дилер* | сквот* | недобросовест* | присвоил* | партнер* | посторонн* | захват*
  kk: дистрибьютор* | дилер* | диллер* | сквоттер* | арам ниет* | серіктес* | бөгде*
  ko: 대리점 | 유통업체 | 파트너 | 브로커 | 선점 | 악의
  en: distributor* | dealer* | squat* | bad faith | partner* | stranger*
parallel_import
  ru: параллельн* | сер* импорт* | ввоз* | оригинальн* | исчерпан*
  kk: параллель* | әкел* | түпнұсқа* | сарқылу*
  ko: 병행수입 | 병행 수입 | 정품 | 수입 | 권리소진
  en: parallel* | grey | gray | import* | genuine | original | exhaustion
eurasian
  ru: евразийск* | еапв | еапо | eapo
  kk: еуразиялық* | еапв | еапо | eapo
  ko: 유라시아
  en: eurasian | eapo
eaeu (generic)
  ru: еаэс | таможенн* союз*
  kk: еаэо | кеден одағ*
  ko: 유라시아경제연합 | 유라시아 경제연합 | 관세동맹
  en: eaeu | eurasian economic union | customs union
pct
  ru: pct | национальн* фаз* | фаз*
  kk: pct | ұлттық фаза* | фаза*
  ko: pct | 국내단계
  en: pct | national phase
pph
  ru: pph | магистрал* | patent prosecution highway | результат* поиск*
  kk: pph | patent prosecution highway | іздеу нәтиже*
  ko: pph | 특허심사하이웨이 | 심사하이웨이 | 국제조사
  en: pph | patent prosecution highway | search report*
korea (generic)
  ru: коре* | kipo | kotra | котра | ip desk | moip | сеул*
  kk: корей* | корея* | kipo | kotra | ip desk | сеул*
  ko: 한국 | 코트라 | 지식재산처 | 서울 | kipo | kotra | moip
  en: korea* | kipo | kotra | ip desk | moip | seoul
license (generic)
  ru: лиценз*
  kk: лицензия* | лицензиялық*
  ko: 라이선스 | 라이센스
  en: licen*
assignment
  ru: лицензионн* договор* | лицензи* соглашени* | сублиценз* | уступ* | отчужден*
  ru: передач* исключительн*
  ru: переход* прав* | франшиз* | франчайз* | передач* прав*
  kk: лицензиялық шарт* | лицензиялық келісім* | беру шарт* | франшиза* | басқаға беру
  kk: құқықты беру
  ko: 라이선스 계약 | 라이센스 계약 | 양도 | 사용권 | 프랜차이즈
  en: licen* agreement* | licen* contract* | sublicen* | assign* | franchis*
  en: transfer of rights | license our | licence our
appeal (generic)
  ru: апелляц* | апеляц* | обжал* | отказ* | отклон* | решени* экспертиз* | решени* ниис
  ru: решени* казпатент*
  kk: апелляция* | шағымдану* | бас тарт* | сараптама шешім* | ұзми шешім* | шешімімен*
  ko: 항소 | 불복 | 거절 | 결정
  en: appeal* | refus* | reject* | refusal | decision* | examiner*
law_changes (generic)
  ru: изменени* | поправк* | новшеств* | 233 | нового | нового в | реформ*
  kk: өзгеріс* | түзету* | 233 | жаңа заң* | жаңалық*
  ko: 개정 | 변경사항 | 바뀐 | 달라진 | 233
  en: change* | amendment* | new law | reform* | 233 | what s new
accelerated (generic)
  ru: ускор* | срочн* | быстр* | 3 месяц* | три месяц*
  kk: жедел* | тез* | 3 ай*
  ko: 우선심사 | 신속 | 빨리 | 급하게 | 빠르게 | 3개월
  en: accelerat* | expedit* | fast* | urgent* | speed* | quick* | 3 months | three months
owner_details (generic)
  ru: смен* названи* | переименов* | адрес* | реорганиз* | ребрендинг* | наименовани*
  kk: атауы өзгер* | атауы ауыс* | мекенжай* | ребрендинг* | қайта ұйымдастыр*
  ru: переехал* | переезд*
  ko: 사명 | 주소 | 명의 | 합병 | 회사 이름 | 이전했 | 이사했
  en: rename* | name change* | changed its name | address | rebrand* | new company name
  en: moved | relocat*
infringement
  ru: наруш* | копир* | скопир* | повтор* | выпуска*
  kk: бұз* | көшір* | қайтала* | жасап жатыр | шығарып жатыр
  ko: 침해 | 도용 | 베낀 | 모방 | 무단
  en: infring* | copy | copies | copied | copying | violat* | manufactur*
suspension (generic)
  ru: приостанов* | задерж* | останов*
  kk: тоқтат* | ұстал* | ұстап | ұстады | ұстау*
  ko: 보류 | 억류 | 정지
  en: suspen* | detain* | held | hold | holds | holding | stopped | seized
evidence (generic)
  ru: доказательств* | закупк*
  kk: дәлел*
  ko: 증거
  en: evidence | proof | test purchase*
ip
  ru: ис | интеллектуальн* собственност* | исключительн* прав*
  kk: зм | зияткерлік меншік* | зияткерлік құқық*
  ko: 지식재산 | 지재권 | 지적재산 | 지식 재산
  en: ip | intellectual property
state_body (generic)
  ru: госорган* | государственн* орган* | государственн* организац* | ведомств* | учреждени*
  ru: организаци*
  kk: мемлекеттік орган* | мемлекеттік мекеме* | мекеме* | ведомство* | ұйым*
  ko: 기관 | 정부기관 | 부처 | 관청
  en: government agency | authority | state body | agency | organisation | organization | body
patentability
  ru: патентоспособ* | что можно запатентовать | можно ли запатентовать | идея | идеи | идею | идей
  kk: патенттеуге бола* | идея* | патенттеуге бола ма
  ko: 특허 대상 | 특허받을 수 | 특허 가능 | 아이디어
  en: patentab* | can be patented | idea | ideas
pharma (generic)
  ru: лекарств* | фарм* | препарат* | медицин*
  kk: дәрі* | фармацевтика* | медицина*
  ko: 의약품 | 신약 | 제약
  en: drug* | pharma* | medicine* | medicinal
egov
  ru: егов | egov | электронн* правительств* | портал*
  kk: egov | електронды үкімет* | электрондық үкімет* | электронды үкімет* | портал*
  ko: 전자정부 | 포털
  en: egov | e gov | e government | portal
cooperation (generic)
  ru: сотрудничеств* | взаимодейств* | поддержк* | меморандум* | соглашени* | встреч* | помога*
  kk: ынтымақтастық* | қолдау* | келісім* | кездесу* | меморандум* | көмектес*
  ko: 협력 | 지원 | mou | 면담 | 협약 | 도움
  en: cooperat* | support | mou | work together | meeting | agreement | help
reply (generic)
  ru: ответ | ответа | ответе | ответы | ответов | ответят | ответит | ответить | отвеча*
  kk: жауап | жауапты | жауабы* | жауап бер*
  ko: 답변 | 회신 | 답장
  en: reply | replies | answer* | respond* | response
attachment (generic)
  ru: приложить | фото* | скрин* | файл*
  kk: фото* | скрин* | файл*
  ko: 사진 | 첨부 | 파일 | 스크린샷
  en: photo* | attach* | screenshot* | upload*
works (generic)
  ru: фотограф* | фотки | музык* | видео* | текст* | книг* | фильм* | песн* | картин* | рисун*
  kk: фотосурет* | музыка* | бейне* | мәтін* | кітап* | фильм* | әні* | сурет*
  ko: 음악 | 영상 | 영화 | 노래 | 그림 | 소설 | 웹툰 | 동영상
  en: photograph* | photos | music | video* | text | texts | book | books | film* | song*
  en: painting* | drawing* | novel*
comparison (generic)
  ru: отлича* | разниц* | что лучше | выбрать | выгодн* | плюсы
  kk: әлде | айырма* | қайсысы* | таңда* | тиімді
  ko: 차이 | 중에 | 뭐가 나 | 뭐가 좋 | 선택 | 택해 | 고르 | 장단점
  en: vs | versus | differ* | which is better | choose | better | pros and cons
conversion (generic)
  ru: преобраз* | перевести | перевод* заявк* | сменить тип*
  kk: түрін өзгерт* | ауыстыр*
  ko: 변경 | 바꿀 | 전환
  en: convert* | switch* | conversion
deadline (generic)
  ru: рабоч* дн* | срок* | до какого
  kk: жұмыс күн* | мерзім*
  ko: 영업일 | 기한 | 마감
  en: working days | deadline* | time limit* | by when
my_data
  ru: мо* данн* | мои | обо мне | мо* переписк* | мо* персональн* | сво* данн*
  kk: деректерім* | мәліметтерім* | менің дерек* | мен туралы | хабарламалар*
  ko: 제 데이터 | 내 데이터 | 제 정보 | 내 정보 | 제 개인정보 | 내 개인정보 | 저에 대한
  en: my data | my personal | about me | my information | my chat | my messages | on me
company_formation (off-topic)
  ru: тоо | ооо | ип | индивидуальн* предпринимател* | открыть компани* | открыть фирм*
  ru: регистрац* компани* | зарегистрировать компани* | зарегистрировать фирм* | филиал*
  ru: регистрац* юрлиц* | регистрац* бизнес*
  kk: жшс | жеке кәсіпкер* | компания ашу | компания тіркеу | фирма ашу | филиал*
  ko: 법인 설립 | 회사 설립 | 지사 설립 | 개인사업자 | 사업자 등록 | 법인 등록
  en: llp | llc | register a company | company registration | incorporat* | sole proprietor*
  en: branch office | open a company | set up a company | branch of a foreign
migration (off-topic)
  ru: виза | визу | визы | визой | вид на жительство | внж | разрешени* на работу | гражданств*
  kk: виза* | ықтиярхат* | жұмысқа рұқсат*
  ko: 비자 | 무비자 | 거주허가 | 취업허가 | 체류
  en: visa | visas | residence permit* | work permit* | citizenship
tax (off-topic)
  ru: налог* | ндс | кпн | ипн | таможенн* пошлин* | ввозн* пошлин* | растаможк*
  kk: салық* | ққс | кедендік баж* | кедендік ресімде*
  ko: 세금 | 부가가치세 | 법인세 | 소득세 | 관세
  en: tax | taxes | vat | import duty | customs duty | duties | customs clearance
labour (off-topic)
  ru: трудов* | уволить | увольнен* | зарплат* | заработн* плат* | отпуск*
  kk: еңбек* | жалақы* | жұмыстан шығару
  ko: 노동법 | 해고 | 최저임금 | 월급 | 임금
  en: labour law | labor law | dismiss* | salary | minimum wage | wage | wages
data_protection_law (off-topic)
  ru: закон* о персональн* данн*
  kk: дербес деректер туралы заң*
  ko: 개인정보보호법
  en: personal data law* | data protection law* | gdpr
other_business (off-topic)
  ru: банк* | сертификац* | еас | алкогол* | апостил* | автомобил* | потребител* | некачествен*
  kk: банк* | сертификатта* | алкоголь* | апостиль* | көлік* | тұтынушы* | сапасыз*
  ko: 은행 | 계좌 | 인증 | 주류 | 아포스티유 | 자동차 | 중고차 | 소비자 | 불량
  en: bank | banking | certification | eac | alcohol | liquor | apostille | car | vehicle
  en: consumer* | defective
"""


@dataclass(frozen=True, slots=True)
class _Words:
    """A name of a concept written in Cyrillic or Latin: a sequence of words."""

    concept: str
    words: tuple[str, ...]
    prefix: tuple[bool, ...]  # per word: matches any word it begins

    def matches(self, tokens: Sequence[str], start: int) -> bool:
        if start + len(self.words) > len(tokens):
            return False
        for word, prefix, token in zip(self.words, self.prefix, tokens[start:], strict=False):
            if not (token.startswith(word) if prefix else token == word):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Concept names, indexed for matching normalised words."""

    by_exact: Mapping[str, tuple[_Words, ...]]  # first word (exact) -> names
    by_prefix: Mapping[str, tuple[_Words, ...]]  # first two letters of a prefix word -> names
    hangul: tuple[tuple[str, str], ...]  # (name without spaces, concept)
    specific: frozenset[str]  # concepts that place a question in the FAQ's domain
    off_topic: frozenset[str]  # subjects next to it that no entry covers (visas, taxes ...)
    _cache: dict[str, tuple[_Words, ...]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, source: str = LEXICON) -> Lexicon:
        by_exact: dict[str, list[_Words]] = defaultdict(list)
        by_prefix: dict[str, list[_Words]] = defaultdict(list)
        hangul: list[tuple[str, str]] = []
        specific: set[str] = set()
        off_topic: set[str] = set()
        concept = ""
        for line in source.splitlines():
            if not line.strip():
                continue
            if not line[0].isspace():
                concept, _, note = line.strip().partition(" ")
                if note == "(off-topic)":
                    off_topic.add(concept)
                elif note != "(generic)":
                    specific.add(concept)
                continue
            _, _, names = line.partition(":")
            for name in (n.strip() for n in names.split("|")):
                if _HANGUL.search(name):
                    hangul.append(("".join(words(name)), concept))
                    continue
                parts = name.split()
                name_words = tuple(_single_word(part.rstrip("*")) for part in parts)
                prefix = tuple(part.endswith("*") for part in parts)
                entry = _Words(concept, name_words, prefix)
                if prefix[0]:
                    by_prefix[name_words[0][:2]].append(entry)
                else:
                    by_exact[name_words[0]].append(entry)
        return cls(
            by_exact=MappingProxyType({k: tuple(v) for k, v in by_exact.items()}),
            by_prefix=MappingProxyType({k: tuple(v) for k, v in by_prefix.items()}),
            hangul=tuple(hangul),
            specific=frozenset(specific),
            off_topic=frozenset(off_topic),
        )

    def concepts(self, tokens: Sequence[str]) -> set[str]:
        """The concepts named in normalised `tokens` (as `bot.faq.match.text.words` gives)."""
        found: set[str] = set()
        for i, token in enumerate(tokens):
            for name in self._starting_with(token):
                if name.concept not in found and name.matches(tokens, i):
                    found.add(name.concept)
        joined = "".join(t for t in tokens if is_hangul(t))
        if joined:
            found.update(concept for name, concept in self.hangul if name in joined)
        return found

    def _starting_with(self, token: str) -> tuple[_Words, ...]:
        """The names whose first word `token` matches (remembered: words recur)."""
        names = self._cache.get(token)
        if names is None:
            names = (
                *self.by_exact.get(token, ()),
                *(n for n in self.by_prefix.get(token[:2], ()) if token.startswith(n.words[0])),
            )
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[token] = names
        return names


def _single_word(text: str) -> str:
    normalised = words(text)
    if len(normalised) != 1:
        raise ValueError(f"lexicon: {text!r} is not one word")
    return normalised[0]
