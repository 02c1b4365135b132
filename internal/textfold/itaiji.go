package textfold

// itaiji maps variant kanji (異体字) common in Japanese surnames and given
// names to the form most people type. It is deliberately small: each entry
// is a pair that HR systems and people use for the same name (髙橋/高橋,
// 山﨑/山崎, 渡邉/渡邊/渡辺), not a general old-form (旧字体) table, so that a
// search never joins two names a clerk would call different. NFKC already
// folds the compatibility ideographs that have a canonical form (塚 U+FA10
// → 塚); the characters here are ones it leaves alone. Keys must be
// NFKC-stable and no value may itself be a key (TestItaijiTable).
//
// To add a pair: the variant as key, the common form as value, one line
// each, grouped by the common form, with a surname that uses it.
var itaiji = map[rune]rune{
	'髙': '高', // 髙橋, 髙田 (はしご高)
	'﨑': '崎', // 山﨑, 宮﨑 (たつさき, U+FA11, which NFKC keeps)
	'嵜': '崎', // 山嵜
	'碕': '崎', // 川碕
	'德': '徳', // 德永, 德田
	'邉': '辺', // 渡邉
	'邊': '辺', // 渡邊
	'齋': '斎', // 齋藤
	'齊': '斎', // 齊藤
	'斉': '斎', // 斉藤 (read さいとう like 斎藤)
	'濵': '浜', // 濵田
	'濱': '浜', // 濱田, 長濱
	'澤': '沢', // 澤田, 小澤
	'櫻': '桜', // 櫻井
	'嶋': '島', // 中嶋, 小嶋
	'嶌': '島', // 嶌田
	'廣': '広', // 廣田, 廣瀬
	'國': '国', // 國分
	'藏': '蔵', // 大藏
	'實': '実', // 實
	'惠': '恵', // 惠子
	'榮': '栄', // 榮
	'壽': '寿', // 壽
	'瀨': '瀬', // 瀨戸 (U+7028)
	'增': '増', // 增田
	'曾': '曽', // 曾根, 曾我
	'黑': '黒', // 黑田
	'淺': '浅', // 淺野
	'冨': '富', // 冨田, 冨永
	'條': '条', // 北條
	'關': '関', // 關
	'眞': '真', // 眞鍋, 眞理子
	'萬': '万', // 萬田
	'瀧': '滝', // 瀧本, 瀧澤
	'禮': '礼', // 禮子
	'槇': '槙', // 槇原
	'桒': '桑', // 桒原
	'舘': '館', // 舘野
	'圓': '円', // 圓山
	'戶': '戸', // 戶田 (U+6236)
	'靑': '青', // 靑木 (U+9751)
	'埜': '野', // 埜口
	'渕': '淵', // 渕上
	'峯': '峰', // 峯岸
	'𠮷': '吉', // 𠮷田 (つちよし, U+20BB7)
	'鐵': '鉄', // 鐵
	'鐡': '鉄', // 鐡
	'龍': '竜', // 龍之介 (both forms are common in names)
	'澁': '渋', // 澁谷
	'嶽': '岳', // 嶽
	'鷗': '鴎', // 森鷗外
	'槗': '橋', // 髙槗
}
