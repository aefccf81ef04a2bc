/**
 * The option columns of DICOM PS3.15 Annex E, Table E.1-1 (editions of 2024), as data: for each option, the
 * attributes whose action changes when the option is on. K keeps the value, C cleans it (for dates
 * and times: shifts them). Attributes not listed keep their Basic Profile action (./profile).
 * Repeating-group rows (50xx, 60xx) are applied in ./actions.
 */

/** K keeps the value; C cleans it. */
export type OptionAction = 'K' | 'C';

/** Retain Patient Characteristics Option column. */
export const RETAIN_PATIENT_CHARACTERISTICS: ReadonlyMap<number, OptionAction> = new Map([
  [0x00100040, 'K'], // Patients Sex
  [0x00101010, 'K'], // Patients Age
  [0x00101020, 'K'], // Patients Size
  [0x00101030, 'K'], // Patients Weight
  [0x00102110, 'C'], // Allergies
  [0x00102160, 'K'], // Ethnic Group
  [0x001021A0, 'K'], // Smoking Status
  [0x001021C0, 'K'], // Pregnancy Status
  [0x00102203, 'K'], // Patients Sex Neutered
  [0x00380050, 'C'], // Special Needs
  [0x00380500, 'C'], // Patient State
  [0x00400012, 'C'], // Pre-Medication
  [0x0072005F, 'K'], // Selector AS Value
]);

/** Retain Device Identity Option column. */
export const RETAIN_DEVICE_IDENTITY: ReadonlyMap<number, OptionAction> = new Map([
  [0x00080054, 'C'], // Retrieve AE Title
  [0x00080055, 'C'], // Station AE Title
  [0x00081000, 'C'], // Network ID
  [0x00081010, 'K'], // Station Name
  [0x0014407C, 'K'], // Calibration Time
  [0x0014407E, 'K'], // Calibration Date
  [0x0016004E, 'K'], // Lens Specification
  [0x0016004F, 'K'], // Lens Make
  [0x00160050, 'K'], // Lens Model
  [0x00160051, 'K'], // Lens Serial Number
  [0x00181000, 'K'], // Device Serial Number
  [0x00181002, 'K'], // Device UID
  [0x00181004, 'K'], // Plate ID
  [0x00181005, 'K'], // Generator ID
  [0x00181007, 'K'], // Cassette ID
  [0x00181008, 'K'], // Gantry ID
  [0x00181009, 'K'], // Unique Device Identifier
  [0x0018100A, 'K'], // UDI Sequence
  [0x0018100B, 'K'], // Manufacturers Device Class UID
  [0x00181200, 'K'], // Date of Last Calibration
  [0x00181201, 'K'], // Time of Last Calibration
  [0x00181202, 'K'], // DateTime of Last Calibration
  [0x00181203, 'K'], // Calibration DateTime
  [0x00181204, 'K'], // Date of Manufacture
  [0x00181205, 'K'], // Date of Installation
  [0x00185011, 'K'], // Transducer Identification Sequence
  [0x0018700A, 'K'], // Detector ID
  [0x0018700C, 'K'], // Date of Last Detector Calibration
  [0x0018700E, 'K'], // Time of Last Detector Calibration
  [0x00189367, 'K'], // X-Ray Source ID
  [0x00189371, 'K'], // X-Ray Detector ID
  [0x00189373, 'K'], // X-Ray Detector Label
  [0x00203401, 'K'], // Modifying Device ID
  [0x00321020, 'K'], // Scheduled Study Location
  [0x00321021, 'C'], // Scheduled Study Location AE Title
  [0x00400001, 'C'], // Scheduled Station AE Title
  [0x00400010, 'K'], // Scheduled Station Name
  [0x00400011, 'K'], // Scheduled Procedure Step Location
  [0x00400241, 'C'], // Performed Station AE Title
  [0x00400242, 'K'], // Performed Station Name
  [0x00404025, 'K'], // Scheduled Station Name Code Sequence
  [0x00404027, 'K'], // Scheduled Station Geographic Location Code Sequence
  [0x00404028, 'K'], // Performed Station Name Code Sequence
  [0x00404030, 'K'], // Performed Station Geographic Location Code Sequence
  [0x00500020, 'K'], // Device Description
  [0x0072005E, 'C'], // Selector AE Value
  [0x00741234, 'C'], // Receiving AE
  [0x00741236, 'C'], // Requesting AE
  [0x04000563, 'K'], // Modifying System
  [0x21000070, 'C'], // Originator
  [0x21000140, 'C'], // Destination AE
  [0x30080105, 'K'], // Source Serial Number
  [0x300A00B2, 'K'], // Treatment Machine Name
  [0x300A0216, 'K'], // Source Manufacturer
  [0x300C0127, 'K'], // Beam Hold Transition DateTime
  [0x3010002D, 'K'], // Device Label
  [0x30100043, 'K'], // Manufacturers Device Identifier
]);

/** Retain Longitudinal Temporal Information with Modified Dates Option column (all C). */
export const RETAIN_LONGITUDINAL_MODIFIED_DATES: ReadonlySet<number> = new Set([
  0x00080012, // Instance Creation Date
  0x00080013, // Instance Creation Time
  0x00080015, // Instance Coercion DateTime
  0x00080020, // Study Date
  0x00080021, // Series Date
  0x00080022, // Acquisition Date
  0x00080023, // Content Date
  0x00080024, // Overlay Date
  0x00080025, // Curve Date
  0x0008002A, // Acquisition DateTime
  0x00080030, // Study Time
  0x00080031, // Series Time
  0x00080032, // Acquisition Time
  0x00080033, // Content Time
  0x00080034, // Overlay Time
  0x00080035, // Curve Time
  0x00080106, // Context Group Version
  0x00080107, // Context Group Local Version
  0x00080201, // Timezone Offset From UTC
  0x001021D0, // Last Menstrual Date
  0x00120086, // Ethics Committee Approval Effectiveness Start Date
  0x00120087, // Ethics Committee Approval Effectiveness End Date
  0x0014407C, // Calibration Time
  0x0014407E, // Calibration Date
  0x0016008D, // GPS Date Stamp
  0x00180027, // Intervention Drug Stop Time
  0x00180035, // Intervention Drug Start Time
  0x00181012, // Date of Secondary Capture
  0x00181014, // Time of Secondary Capture
  0x00181042, // Contrast/Bolus Start Time
  0x00181043, // Contrast/Bolus Stop Time
  0x00181072, // Radiopharmaceutical Start Time
  0x00181073, // Radiopharmaceutical Stop Time
  0x00181078, // Radiopharmaceutical Start DateTime
  0x00181079, // Radiopharmaceutical Stop DateTime
  0x00181200, // Date of Last Calibration
  0x00181201, // Time of Last Calibration
  0x00181202, // DateTime of Last Calibration
  0x00181203, // Calibration DateTime
  0x00181204, // Date of Manufacture
  0x00181205, // Date of Installation
  0x0018700C, // Date of Last Detector Calibration
  0x0018700E, // Time of Last Detector Calibration
  0x00189074, // Frame Acquisition DateTime
  0x00189151, // Frame Reference DateTime
  0x00189369, // Source Start DateTime
  0x0018936A, // Source End DateTime
  0x00189516, // Start Acquisition DateTime
  0x00189517, // End Acquisition DateTime
  0x00189623, // Functional Sync Pulse
  0x00189701, // Decay Correction DateTime
  0x00189804, // Exclusion Start DateTime
  0x00189919, // Instruction Performed DateTime
  0x0018A002, // Contribution DateTime
  0x00203403, // Modified Image Date
  0x00203405, // Modified Image Time
  0x00320032, // Study Verified Date
  0x00320033, // Study Verified Time
  0x00320034, // Study Read Date
  0x00320035, // Study Read Time
  0x00321000, // Scheduled Study Start Date
  0x00321001, // Scheduled Study Start Time
  0x00321010, // Scheduled Study Stop Date
  0x00321011, // Scheduled Study Stop Time
  0x00321040, // Study Arrival Date
  0x00321041, // Study Arrival Time
  0x00321050, // Study Completion Date
  0x00321051, // Study Completion Time
  0x00340007, // Frame Origin Timestamp
  0x0038001A, // Scheduled Admission Date
  0x0038001B, // Scheduled Admission Time
  0x0038001C, // Scheduled Discharge Date
  0x0038001D, // Scheduled Discharge Time
  0x00380020, // Admitting Date
  0x00380021, // Admitting Time
  0x00380030, // Discharge Date
  0x00380032, // Discharge Time
  0x003A0314, // Impedance Measurement DateTime
  0x00400002, // Scheduled Procedure Step Start Date
  0x00400003, // Scheduled Procedure Step Start Time
  0x00400004, // Scheduled Procedure Step End Date
  0x00400005, // Scheduled Procedure Step End Time
  0x00400244, // Performed Procedure Step Start Date
  0x00400245, // Performed Procedure Step Start Time
  0x00400250, // Performed Procedure Step End Date
  0x00400251, // Performed Procedure Step End Time
  0x00402004, // Issue Date of Imaging Service Request
  0x00402005, // Issue Time of Imaging Service Request
  0x00404005, // Scheduled Procedure Step Start DateTime
  0x00404008, // Scheduled Procedure Step Expiration DateTime
  0x00404010, // Scheduled Procedure Step Modification DateTime
  0x00404011, // Expected Completion DateTime
  0x00404050, // Performed Procedure Step Start DateTime
  0x00404051, // Performed Procedure Step End DateTime
  0x00404052, // Procedure Step Cancellation DateTime
  0x0040A023, // Findings Group Recording Date (Trial)
  0x0040A024, // Findings Group Recording Time (Trial)
  0x0040A030, // Verification DateTime
  0x0040A032, // Observation DateTime
  0x0040A033, // Observation Start DateTime
  0x0040A082, // Participation DateTime
  0x0040A110, // Date of Document or Verbal Transaction (Trial)
  0x0040A112, // Time of Document Creation or Verbal Transaction (Trial)
  0x0040A120, // DateTime
  0x0040A121, // Date
  0x0040A122, // Time
  0x0040A13A, // Referenced DateTime
  0x0040A192, // Observation Date (Trial)
  0x0040A193, // Observation Time (Trial)
  0x0040DB06, // Template Version
  0x0040DB07, // Template Local Version
  0x0040E004, // HL7 Document Effective Time
  0x00440004, // Approval Status DateTime
  0x0044000B, // Product Expiration DateTime
  0x00440010, // Substance Administration DateTime
  0x00440104, // Assertion DateTime
  0x00440105, // Assertion Expiration DateTime
  0x00686226, // Effective DateTime
  0x00686270, // Information Issue DateTime
  0x00700082, // Presentation Creation Date
  0x00700083, // Presentation Creation Time
  0x0072000A, // Hanging Protocol Creation DateTime
  0x00720061, // Selector DA Value
  0x00720063, // Selector DT Value
  0x0072006B, // Selector TM Value
  0x01000420, // SOP Authorization DateTime
  0x04000105, // Digital Signature DateTime
  0x04000310, // Certified Timestamp
  0x04000562, // Attribute Modification DateTime
  0x21000040, // Creation Date
  0x21000050, // Creation Time
  0x30060008, // Structure Set Date
  0x30060009, // Structure Set Time
  0x3006002D, // ROI DateTime
  0x3006002E, // ROI Observation DateTime
  0x30080024, // Treatment Control Point Date
  0x30080025, // Treatment Control Point Time
  0x30080054, // First Treatment Date
  0x30080056, // Most Recent Treatment Date
  0x30080162, // Safe Position Exit Date
  0x30080164, // Safe Position Exit Time
  0x30080166, // Safe Position Return Date
  0x30080168, // Safe Position Return Time
  0x30080250, // Treatment Date
  0x30080251, // Treatment Time
  0x300A0006, // RT Plan Date
  0x300A0007, // RT Plan Time
  0x300A022C, // Source Strength Reference Date
  0x300A022E, // Source Strength Reference Time
  0x300A0736, // Treatment Tolerance Violation DateTime
  0x300A073A, // Recorded RT Control Point DateTime
  0x300A0741, // Interlock DateTime
  0x300A0760, // Override DateTime
  0x300C0127, // Beam Hold Transition DateTime
  0x300E0004, // Review Date
  0x300E0005, // Review Time
  0x3010004C, // Intended Phase Start Date
  0x3010004D, // Intended Phase End Date
  0x30100085, // Intended Fraction Start Time
  0x40080100, // Interpretation Recorded Date
  0x40080101, // Interpretation Recorded Time
  0x40080108, // Interpretation Transcription Date
  0x40080109, // Interpretation Transcription Time
  0x40080112, // Interpretation Approval Date
  0x40080113, // Interpretation Approval Time
]);

/** Clean Descriptors Option column (all C). */
export const CLEAN_DESCRIPTORS: ReadonlySet<number> = new Set([
  0x00081030, // Study Description
  0x0008103E, // Series Description
  0x00081080, // Admitting Diagnoses Description
  0x00081084, // Admitting Diagnoses Code Sequence
  0x00081088, // Pyramid Description
  0x00082111, // Derivation Description
  0x00084000, // Identifying Comments
  0x00102000, // Medical Alerts
  0x00102110, // Allergies
  0x00102180, // Occupation
  0x001021B0, // Additional Patient History
  0x00104000, // Patient Comments
  0x00120051, // Clinical Trial Time Point Description
  0x00120072, // Clinical Trial Series Description
  0x0016002B, // Maker Note
  0x0016004B, // Device Setting Description
  0x00180010, // Contrast/Bolus Agent
  0x00181030, // Protocol Name
  0x001811BB, // Acquisition Field Of View Label
  0x00181400, // Acquisition Device Processing Description
  0x00184000, // Acquisition Comments
  0x00189185, // Respiratory Motion Compensation Technique Description
  0x0018937B, // Multi-energy Acquisition Description
  0x0018937F, // Decomposition Description
  0x00189424, // Acquisition Protocol Description
  0x00189937, // Requested Series Description
  0x0018A003, // Contribution Description
  0x00200027, // Pyramid Label
  0x00204000, // Image Comments
  0x00209158, // Frame Comments
  0x00321030, // Reason for Study
  0x00321060, // Requested Procedure Description
  0x00321066, // Reason for Visit
  0x00321067, // Reason for Visit Code Sequence
  0x00321070, // Requested Contrast Agent
  0x00324000, // Study Comments
  0x00380040, // Discharge Diagnosis Description
  0x00380062, // Service Episode Description
  0x00380500, // Patient State
  0x00384000, // Visit Comments
  0x003A0329, // Waveform Filter Description
  0x003A032B, // Filter Lookup Table Description
  0x00400007, // Scheduled Procedure Step Description
  0x00400254, // Performed Procedure Step Description
  0x00400275, // Request Attributes Sequence
  0x00400280, // Comments on the Performed Procedure Step
  0x00400310, // Comments on Radiation Dose
  0x0040051A, // Container Description
  0x00400600, // Specimen Short Description
  0x00400602, // Specimen Detailed Description
  0x00401002, // Reason for the Requested Procedure
  0x0040100A, // Reason for Requested Procedure Code Sequence
  0x00401400, // Requested Procedure Comments
  0x00402001, // Reason for the Imaging Service Request
  0x00402400, // Imaging Service Request Comments
  0x00500021, // Long Device Description
  0x006A0005, // Annotation Group Label
  0x006A0006, // Annotation Group Description
  0x00720066, // Selector LO Value
  0x00720068, // Selector LT Value
  0x0072006C, // Selector SH Value
  0x0072006E, // Selector ST Value
  0x00720070, // Selector UT Value
  0x04000565, // Reason for the Attribute Modification
  0x22000002, // Label Text
  0x30020121, // Position Acquisition Template Name
  0x30020123, // Position Acquisition Template Description
  0x30060002, // Structure Set Label
  0x30060004, // Structure Set Name
  0x30060006, // Structure Set Description
  0x30060026, // ROI Name
  0x30060028, // ROI Description
  0x30060038, // ROI Generation Description
  0x30060085, // ROI Observation Label
  0x30060088, // ROI Observation Description
  0x300A0002, // RT Plan Label
  0x300A0003, // RT Plan Name
  0x300A0004, // RT Plan Description
  0x300A000B, // Treatment Sites
  0x300A000E, // Prescription Description
  0x300A0016, // Dose Reference Description
  0x300A0072, // Fraction Group Description
  0x300A00C3, // Beam Description
  0x300A00DD, // Bolus Description
  0x300A0196, // Fixation Device Description
  0x300A01A6, // Shielding Device Description
  0x300A01B2, // Setup Technique Description
  0x300A02EB, // Compensator Description
  0x300A0608, // Treatment Position Group Label
  0x300A0619, // Radiation Dose Identification Label
  0x300A0623, // Radiation Dose In-Vivo Measurement Label
  0x300A062A, // RT Tolerance Set Label
  0x300A0676, // Equipment Frame of Reference Description
  0x300A067C, // Radiation Generation Mode Label
  0x300A067D, // Radiation Generation Mode Description
  0x300A0734, // Treatment Tolerance Violation Description
  0x300A0742, // Interlock Description
  0x300A0783, // Interlock Origin Description
  0x300A078E, // Patient Treatment Preparation Procedure Parameter Description
  0x300A0792, // Patient Treatment Preparation Method Description
  0x300A0794, // Patient Setup Photo Description
  0x300A079A, // Displacement Reference Label
  0x300C0113, // Reason for Omission Description
  0x3010000F, // Conceptual Volume Combination Description
  0x30100017, // Conceptual Volume Description
  0x30100033, // User Content Label
  0x30100034, // User Content Long Label
  0x30100035, // Entity Label
  0x30100036, // Entity Name
  0x30100037, // Entity Description
  0x30100038, // Entity Long Label
  0x30100054, // RT Prescription Label
  0x30100056, // RT Treatment Approach Label
  0x3010005A, // RT Physician Intent Narrative
  0x3010005C, // Reason for Superseding
  0x30100061, // Prior Treatment Dose Description
  0x30100077, // Treatment Site
  0x3010007A, // Treatment Technique Notes
  0x3010007B, // Prescription Notes
  0x3010007F, // Fractionation Notes
  0x30100081, // Prescription Notes Sequence
  0x4008010B, // Interpretation Text
  0x40080115, // Interpretation Diagnosis Description
  0x40080300, // Impressions
  0x40084000, // Results Comments
]);
